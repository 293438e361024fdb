// Builds the GGUF of a vigil-tst model (docs/model-format.md §4) from fp32 weights, either
// fp32 (for calibration) or q8_static (encoder linears int8 with per-channel and input scales).
import {
  GgmlType,
  ggufTensorData,
  readGguf,
  writeGguf,
  type GgufFile,
  type GgufTensorInput,
} from './gguf.js';
import { ModelError } from './model-error.js';
import { activationScale, quantizeWeightPerChannel } from './quantize.js';
import { ggufMetadata, hyperparametersFromGguf, type TstHyperparameters } from './tst-hyperparameters.js';
import { expectedTensors, linearLayers } from './tst-tensors.js';

/** Input |max| per linear layer name (e.g. "blk.0.ffn_up"), from calibration. */
export type ActivationAbsMax = Record<string, number>;

export function buildTstGguf(
  h: TstHyperparameters,
  weights: Map<string, Float32Array>,
  quant?: {
    inputAbsMax: ActivationAbsMax;
    /** Encoder linears to keep in F32 (mixed precision: the engine runs each as stored). */
    keepF32?: string[];
  },
): Uint8Array {
  const linears = new Map(linearLayers(h).map((l) => [l.name, l]));
  const tensors: GgufTensorInput[] = [];
  for (const spec of expectedTensors(h)) {
    const data = weights.get(spec.name);
    if (!data) throw new Error(`buildTstGguf: weight ${spec.name} is missing`);
    // GGUF ne is fastest-first: reverse the ONNX shape.
    const ne = [...spec.shape].reverse();
    const layer = spec.role === 'linear' ? linears.get(spec.name.replace(/\.weight$/, ''))! : undefined;
    if (quant && layer?.encoder && !quant.keepF32?.includes(layer.name)) {
      const absMax = quant.inputAbsMax[layer.name];
      if (absMax === undefined) throw new Error(`buildTstGguf: no calibration |max| for ${layer.name}`);
      const { q, scale } = quantizeWeightPerChannel(data, layer.out, layer.in);
      tensors.push(
        { name: spec.name, type: GgmlType.I8, ne, data: q },
        { name: `${layer.name}.scale`, type: GgmlType.F32, ne: [layer.out], data: scale },
        {
          name: `${layer.name}.input_scale`,
          type: GgmlType.F32,
          ne: [1],
          data: Float32Array.of(activationScale(absMax)),
        },
      );
    } else {
      tensors.push({ name: spec.name, type: GgmlType.F32, ne, data });
    }
  }
  return writeGguf(ggufMetadata(h, quant ? 'q8_static' : 'f32'), tensors);
}

export interface TstGguf {
  file: GgufFile;
  h: TstHyperparameters;
  quantization: string;
  tensors: Map<string, Float32Array | Int8Array>;
}

/**
 * Read a vigil-tst GGUF and check every tensor against the hyperparameters (name, type,
 * ne, the scales of int8 linears). Throws MODEL_FORMAT naming the first differences.
 */
export function readTstGguf(bytes: Uint8Array): TstGguf {
  const file = readGguf(bytes);
  const { h, quantization } = hyperparametersFromGguf(file.metadata);
  const problems: string[] = [];
  const byName = new Map(file.tensors.map((t) => [t.name, t]));
  const seen = new Set<string>();
  const tensors = new Map<string, Float32Array | Int8Array>();
  const want = (name: string, ne: number[], types: GgmlType[]): GgmlType | undefined => {
    seen.add(name);
    const t = byName.get(name);
    if (!t) {
      problems.push(`tensor ${name}: missing`);
      return undefined;
    }
    if (!types.includes(t.type))
      problems.push(
        `tensor ${name}: expected type ${types.map((x) => GgmlType[x]).join(' or ')} but received ${GgmlType[t.type] ?? t.type}`,
      );
    else if (t.ne.join(',') !== ne.join(','))
      problems.push(`tensor ${name}: expected ne [${ne.join(', ')}] but received [${t.ne.join(', ')}]`);
    else tensors.set(name, ggufTensorData(file, name) as Float32Array | Int8Array);
    return t.type;
  };
  for (const spec of expectedTensors(h)) {
    const ne = [...spec.shape].reverse();
    if (spec.role !== 'linear') {
      want(spec.name, ne, [GgmlType.F32]);
      continue;
    }
    const layer = spec.name.replace(/\.weight$/, '');
    const type = want(spec.name, ne, [GgmlType.F32, GgmlType.I8]);
    if (type === GgmlType.I8) {
      want(`${layer}.scale`, [spec.shape[0]], [GgmlType.F32]);
      want(`${layer}.input_scale`, [1], [GgmlType.F32]);
      for (const s of [`${layer}.scale`, `${layer}.input_scale`]) {
        const v = tensors.get(s);
        if (v && v.some((x) => !(Number.isFinite(x) && x > 0)))
          problems.push(`tensor ${s}: every scale must be finite and > 0`);
      }
    }
  }
  for (const t of file.tensors)
    if (!seen.has(t.name)) problems.push(`tensor ${t.name}: not part of this vigil-tst model`);
  if (problems.length > 0) {
    throw new ModelError(
      'MODEL_FORMAT',
      `Invalid vigil-tst GGUF tensors:\n  - ${problems.slice(0, 20).join('\n  - ')}${problems.length > 20 ? `\n  - ... ${problems.length - 20} more` : ''}`,
    );
  }
  return { file, h, quantization, tensors };
}
