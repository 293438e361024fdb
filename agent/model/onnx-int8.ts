// An int8 ONNX for onnxruntime, built by rewriting the fp32 vigil-tst graph the way ORT's
// dynamic quantization does (MatMulInteger path): for each encoder linear, the pattern
//   Transpose(<layer>.weight) -> MatMul(x, .)
// becomes
//   DynamicQuantizeLinear(x) -> (x_q u8, x_scale, x_zp)
//   MatMulInteger(x_q, <layer>.weight_q [in, out] s8, x_zp) -> int32
//   Cast(float) -> Mul(., Mul(x_scale, <layer>.weight_scale [out]))
// (the scales multiplied first: the shape ORT's optimizer fuses into one DynamicQuantizeMatMul,
// as it does quantize_dynamic's output)
// Weights are quantized exactly as in the GGUF (per output channel, symmetric, [-127, 127]);
// activations per call (asymmetric u8), which is what "ORT int8" means in the engine's targets.
// `cls` and `recon` stay fp32, as in the GGUF.
import { ModelError } from './model-error.js';
import { modelProtoType, OnnxAttributeType, OnnxDataType } from './onnx-proto.js';
import { quantizeWeightPerChannel } from './quantize.js';

interface NodeObj {
  input: string[];
  output: string[];
  name?: string;
  opType: string;
  domain?: string;
  attribute?: unknown[];
}

interface TensorObj {
  name: string;
  dims: (number | { toNumber(): number })[];
  dataType: number;
  rawData?: Uint8Array;
  floatData?: number[];
}

const num = (d: number | { toNumber(): number }): number => (typeof d === 'number' ? d : d.toNumber());

function floatValues(t: TensorObj): Float32Array {
  const n = t.dims.map(num).reduce((a, b) => a * b, 1);
  if (t.rawData && t.rawData.length === n * 4) {
    const b = new Uint8Array(t.rawData);
    return new Float32Array(b.buffer, b.byteOffset, n).slice();
  }
  if (t.floatData && t.floatData.length === n) return Float32Array.from(t.floatData);
  throw new ModelError('MODEL_ONNX_INVALID', `initializer ${t.name}: expected ${n} float values`);
}

/**
 * Rewrite `fp32` (a vigil-tst ONNX) so the given linear layers run as dynamic int8 MatMulInteger.
 * Throws MODEL_GRAPH_MISMATCH when a layer's Transpose -> MatMul pattern is not found.
 */
export function quantizeOnnxDynamic(fp32: Uint8Array, layers: string[]): Uint8Array {
  const type = modelProtoType();
  const model = type.toObject(type.decode(fp32), { defaults: false, arrays: true }) as {
    graph: { node: NodeObj[]; initializer: TensorObj[]; valueInfo?: { name: string }[] };
    opsetImport?: { domain?: string; version?: number | { toNumber(): number } }[];
  };
  const g = model.graph;
  const removed = new Set<string>();
  for (const layer of layers) {
    const wName = `${layer}.weight`;
    const wIdx = g.initializer.findIndex((t) => t.name === wName);
    if (wIdx < 0) throw new ModelError('MODEL_GRAPH_MISMATCH', `int8 ONNX: initializer ${wName} is missing`);
    const w = g.initializer[wIdx];
    const [out, inDim] = w.dims.map(num);
    const consumers = g.node.filter((n) => n.input.includes(wName));
    const tr = consumers.length === 1 && consumers[0].opType === 'Transpose' ? consumers[0] : undefined;
    const mmIdx = tr ? g.node.findIndex((n) => n.opType === 'MatMul' && n.input[1] === tr.output[0]) : -1;
    const tOut = tr?.output[0];
    if (!tr || mmIdx < 0 || g.node.filter((n) => n.input.includes(tOut!)).length !== 1) {
      throw new ModelError(
        'MODEL_GRAPH_MISMATCH',
        `int8 ONNX: expected ${wName} to feed only Transpose -> MatMul but its consumers are ${consumers.map((n) => n.opType).join(', ') || 'none'}`,
      );
    }
    const mm = g.node[mmIdx];
    const { q, scale } = quantizeWeightPerChannel(floatValues(w), out, inDim);
    const qt = new Int8Array(inDim * out); // [in, out]: MatMul's B layout
    for (let o = 0; o < out; o++) for (let i = 0; i < inDim; i++) qt[i * out + o] = q[o * inDim + i];
    const p = `${layer}.q`;
    g.initializer.splice(
      wIdx,
      1,
      {
        name: `${layer}.weight_q`,
        dims: [inDim, out],
        dataType: OnnxDataType.INT8,
        rawData: new Uint8Array(qt.buffer),
      },
      {
        name: `${layer}.weight_scale`,
        dims: [out],
        dataType: OnnxDataType.FLOAT,
        rawData: new Uint8Array(scale.buffer),
      },
    );
    const nodes: NodeObj[] = [
      {
        opType: 'DynamicQuantizeLinear',
        name: `${p}/quantize`,
        input: [mm.input[0]],
        output: [`${p}/x_q`, `${p}/x_scale`, `${p}/x_zp`],
      },
      {
        opType: 'MatMulInteger',
        name: `${p}/matmul`,
        input: [`${p}/x_q`, `${layer}.weight_q`, `${p}/x_zp`],
        output: [`${p}/acc`],
      },
      {
        opType: 'Cast',
        name: `${p}/cast`,
        input: [`${p}/acc`],
        output: [`${p}/acc_f`],
        attribute: [{ name: 'to', type: OnnxAttributeType.INT, i: OnnxDataType.FLOAT }],
      },
      {
        opType: 'Mul',
        name: `${p}/scales`,
        input: [`${p}/x_scale`, `${layer}.weight_scale`],
        output: [`${p}/scale`],
      },
      { opType: 'Mul', name: `${p}/rescale`, input: [`${p}/acc_f`, `${p}/scale`], output: [mm.output[0]] },
    ];
    g.node.splice(mmIdx, 1, ...nodes);
    g.node.splice(g.node.indexOf(tr), 1);
    removed.add(tOut!);
  }
  if (g.valueInfo) g.valueInfo = g.valueInfo.filter((v) => !removed.has(v.name));
  return type.encode(type.fromObject(model)).finish();
}
