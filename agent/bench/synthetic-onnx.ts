// Builds a runnable fp32 vigil-tst ONNX model (docs/model-format.md §2-§3) with seeded random
// weights, entirely in TypeScript through agent/model's vendored onnx.proto subset and tensor
// specs. The graph is the one the training export produces (Linear = Transpose(weight) ->
// MatMul -> Add, opset 17 LayerNormalization, exact-erf GELU). `vigil bench` uses it for the
// brief's model sizes; the options that break the contract on purpose serve the converter tests
// (test/fixtures/model/tiny-onnx.ts generalized: that fixture can re-export this module with
// init 'uniform').
import { modelProtoType, OnnxAttributeType, OnnxDataType } from '../model/onnx-proto.js';
import { tstDims, type TstHyperparameters } from '../model/tst-hyperparameters.js';
import { expectedTensors, type TensorSpec } from '../model/tst-tensors.js';
import { rng } from './seeded-rng.js';

export type WeightInit = 'xavier' | 'uniform';

export interface SyntheticOnnxOptions {
  seed?: number;
  /**
   * 'xavier' (default): linear weights U(-a, a) with a = sqrt(6 / (in + out)), biases and
   * positional embeddings small, so activations keep realistic scales through the blocks.
   * 'uniform': every weight U(-weightScale, weightScale) (the converter fixture's scheme).
   */
  init?: WeightInit;
  /** Magnitude for init 'uniform' (default 0.3). */
  weightScale?: number;
  /** Drop this initializer. */
  omit?: string;
  /** Replace this initializer's shape (data resized to match). */
  reshape?: { name: string; shape: number[] };
  /** Add an initializer that is not part of the model. */
  extra?: { name: string; shape: number[] };
  /** Override (string value) or delete (null) metadata_props entries. */
  metadata?: Record<string, string | null>;
  /** producer_name (default "vigil-bench"). */
  producer?: string;
}

/** The fp32 weights of a synthetic model by tensor name (expectedTensors order). */
export function syntheticWeights(
  h: TstHyperparameters,
  seed = 1,
  init: WeightInit = 'xavier',
  weightScale = 0.3,
): Map<string, Float32Array> {
  const r = rng(seed);
  const w = new Map<string, Float32Array>();
  for (const s of expectedTensors(h)) w.set(s.name, randomTensor(s, r, init, weightScale));
  return w;
}

function randomTensor(s: TensorSpec, r: () => number, init: WeightInit, scale: number): Float32Array {
  const n = s.shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  const isNormWeight = /norm\.weight$/.test(s.name);
  let amp = scale;
  if (init === 'xavier') {
    if (s.role === 'linear') amp = Math.sqrt(6 / (s.shape[0] + s.shape[1]));
    else if (s.role === 'pos') amp = 0.1;
    else amp = 0.02; // biases, LayerNorm shifts, norm.mean
  }
  for (let i = 0; i < n; i++) {
    const u = r() * 2 - 1;
    if (s.name === 'norm.std') data[i] = 0.5 + r();
    else if (isNormWeight) data[i] = 1 + 0.1 * u;
    else data[i] = amp * u;
  }
  return data;
}

type Node = { input: string[]; output: string[]; opType: string; name: string; attribute?: object[] };

/** metadata_props of §3: the GGUF keys with JSON-encoded values. */
export function tstOnnxMetadata(h: TstHyperparameters): Record<string, string> {
  const m: Record<string, string> = {
    'general.architecture': JSON.stringify('vigil-tst'),
    'general.name': JSON.stringify(h.name),
    'general.version': JSON.stringify(h.version),
    'vigil-tst.window_length': JSON.stringify(h.windowLength),
    'vigil-tst.channel_count': JSON.stringify(h.channelCount),
    'vigil-tst.sample_rate': JSON.stringify(h.sampleRateHz),
    'vigil-tst.channel_names': JSON.stringify(h.channelNames),
    'vigil-tst.frontend': JSON.stringify(h.frontend),
    'vigil-tst.patch_length': JSON.stringify(h.patchLength),
    'vigil-tst.embedding_length': JSON.stringify(h.embeddingLength),
    'vigil-tst.block_count': JSON.stringify(h.blockCount),
    'vigil-tst.attention.head_count': JSON.stringify(h.headCount),
    'vigil-tst.feed_forward_length': JSON.stringify(h.feedForwardLength),
    'vigil-tst.attention.layer_norm_epsilon': JSON.stringify(h.layerNormEpsilon),
    'vigil-tst.labels': JSON.stringify(h.labels),
    'vigil-tst.has_reconstruction': JSON.stringify(h.hasReconstruction),
  };
  if (h.frontend === 'spectral') {
    m['vigil-tst.frontend.bins'] = JSON.stringify(h.frontendBins);
    m['vigil-tst.frontend.band_low_hz'] = JSON.stringify(h.bandLowHz);
    m['vigil-tst.frontend.band_high_hz'] = JSON.stringify(h.bandHighHz);
  }
  return m;
}

/** Serialize a runnable vigil-tst ONNX model (opset 17) for these hyperparameters. */
export function buildSyntheticOnnx(h: TstHyperparameters, opts: SyntheticOnnxOptions = {}): Uint8Array {
  const { Tf, Cf, P, N, d, H, K } = tstDims(h);
  const dh = d / H;
  const weights = syntheticWeights(h, opts.seed ?? 1, opts.init ?? 'xavier', opts.weightScale ?? 0.3);
  const specs = new Map(expectedTensors(h).map((s) => [s.name, s.shape]));
  const nodes: Node[] = [];
  const inits: object[] = [];
  let counter = 0;
  const tmp = (base: string): string => `${base}_${counter++}`;
  const node = (opType: string, input: string[], attribute?: object[], nOut = 1): string[] => {
    const output = Array.from({ length: nOut }, () => tmp(opType.toLowerCase()));
    nodes.push({ opType, input, output, name: tmp(`n_${opType}`), attribute });
    return output;
  };
  const op = (opType: string, input: string[], attribute?: object[]): string =>
    node(opType, input, attribute)[0];
  const intsAttr = (name: string, ints: number[]): object => ({ name, type: OnnxAttributeType.INTS, ints });
  const intAttr = (name: string, i: number): object => ({ name, type: OnnxAttributeType.INT, i });
  const floatAttr = (name: string, f: number): object => ({ name, type: OnnxAttributeType.FLOAT, f });
  const constI64 = (name: string, values: number[]): string => {
    inits.push({ name, dims: [values.length], dataType: OnnxDataType.INT64, int64Data: values });
    return name;
  };
  const constF32 = (name: string, value: number): string => {
    inits.push({ name, dims: [], dataType: OnnxDataType.FLOAT, floatData: [value] });
    return name;
  };

  for (const [name, data] of weights) {
    if (name === opts.omit) continue;
    let dims = specs.get(name)!;
    let values = data;
    if (opts.reshape?.name === name) {
      dims = opts.reshape.shape;
      values = new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(0.01);
    }
    const raw = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    inits.push({ name, dims, dataType: OnnxDataType.FLOAT, rawData: raw });
  }
  if (opts.extra) {
    const n = opts.extra.shape.reduce((a, b) => a * b, 1);
    inits.push({
      name: opts.extra.name,
      dims: opts.extra.shape,
      dataType: OnnxDataType.FLOAT,
      floatData: new Array(n).fill(0),
    });
  }

  const linear = (name: string, x: string): string => {
    const wt = op('Transpose', [`${name}.weight`], [intsAttr('perm', [1, 0])]);
    return op('Add', [op('MatMul', [x, wt]), `${name}.bias`]);
  };
  const ln = (name: string, x: string): string =>
    op(
      'LayerNormalization',
      [x, `${name}.weight`, `${name}.bias`],
      [intAttr('axis', -1), floatAttr('epsilon', h.layerNormEpsilon)],
    );

  const shapePatches = constI64('shape.patches', [0, N, P * Cf]);
  const shapeHeads = constI64('shape.heads', [0, N, H, dh]);
  const shapeMerge = constI64('shape.merge', [0, N, d]);
  const shapeChan = constI64('shape.channels', [0, N * P, Cf]);
  const splitQkv = constI64('split.qkv', [d, d, d]);
  const attnScale = constF32('const.attn_scale', 1 / Math.sqrt(dh));
  const sqrt2 = constF32('const.sqrt2', Math.SQRT2);
  const one = constF32('const.one', 1);
  const half = constF32('const.half', 0.5);

  const u = op('Div', [op('Sub', ['x', 'norm.mean']), 'norm.std']);
  const p = op('Reshape', [u, shapePatches]);
  let hcur = op('Add', [linear('patch_embd', p), 'pos_embd']);
  for (let i = 0; i < h.blockCount; i++) {
    const a = ln(`blk.${i}.attn_norm`, hcur);
    const qkv = linear(`blk.${i}.attn_qkv`, a);
    const [q, k, v] = node('Split', [qkv, splitQkv], [intAttr('axis', 2)], 3);
    const heads = (t: string, perm: number[]): string =>
      op('Transpose', [op('Reshape', [t, shapeHeads])], [intsAttr('perm', perm)]);
    const scores = op('Mul', [op('MatMul', [heads(q, [0, 2, 1, 3]), heads(k, [0, 2, 3, 1])]), attnScale]);
    const att = op('Softmax', [scores], [intAttr('axis', -1)]);
    const o = op('MatMul', [att, heads(v, [0, 2, 1, 3])]);
    const merged = op('Reshape', [op('Transpose', [o], [intsAttr('perm', [0, 2, 1, 3])]), shapeMerge]);
    hcur = op('Add', [hcur, linear(`blk.${i}.attn_output`, merged)]);
    const a2 = ln(`blk.${i}.ffn_norm`, hcur);
    const up = linear(`blk.${i}.ffn_up`, a2);
    const gelu = op('Mul', [op('Mul', [up, op('Add', [op('Erf', [op('Div', [up, sqrt2])]), one])]), half]);
    hcur = op('Add', [hcur, linear(`blk.${i}.ffn_down`, gelu)]);
  }
  const z = ln('output_norm', hcur);
  nodes.push({
    opType: 'ReduceMean',
    input: [z],
    output: ['embedding'],
    name: 'pool',
    attribute: [intsAttr('axes', [1]), intAttr('keepdims', 0)],
  });
  nodes.push({
    opType: 'Softmax',
    input: [linear('cls', 'embedding')],
    output: ['probs'],
    name: 'probs',
    attribute: [intAttr('axis', -1)],
  });
  const outputs: { name: string; shape: (number | string)[] }[] = [
    { name: 'probs', shape: ['batch', K] },
    { name: 'embedding', shape: ['batch', d] },
  ];
  if (h.hasReconstruction) {
    const diff = op('Sub', [linear('recon', z), p]);
    const sq = op('Mul', [diff, diff]);
    nodes.push({
      opType: 'ReduceMean',
      input: [sq],
      output: ['patch_error'],
      name: 'patch_error',
      attribute: [intsAttr('axes', [2]), intAttr('keepdims', 0)],
    });
    nodes.push({
      opType: 'ReduceMean',
      input: [op('Reshape', [sq, shapeChan])],
      output: ['channel_error'],
      name: 'channel_error',
      attribute: [intsAttr('axes', [1]), intAttr('keepdims', 0)],
    });
    outputs.push(
      { name: 'patch_error', shape: ['batch', N] },
      { name: 'channel_error', shape: ['batch', Cf] },
    );
  }

  const vi = (name: string, shape: (number | string)[]): object => ({
    name,
    type: {
      tensorType: {
        elemType: OnnxDataType.FLOAT,
        shape: { dim: shape.map((s) => (typeof s === 'number' ? { dimValue: s } : { dimParam: s })) },
      },
    },
  });
  const meta = { ...tstOnnxMetadata(h) };
  for (const [k, v] of Object.entries(opts.metadata ?? {})) {
    if (v === null) delete meta[k];
    else meta[k] = v;
  }
  const type = modelProtoType();
  const msg = type.fromObject({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: opts.producer ?? 'vigil-bench',
    producerVersion: '0',
    graph: {
      name: 'vigil-tst',
      node: nodes,
      initializer: inits,
      input: [vi('x', ['batch', Tf, Cf])],
      output: outputs.map((o) => vi(o.name, o.shape)),
    },
    metadataProps: Object.entries(meta).map(([key, value]) => ({ key, value })),
  });
  return type.encode(msg).finish();
}
