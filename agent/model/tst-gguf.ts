// Builds the GGUF of a vigil-tst model (docs/model-format.md §4) from fp32 weights, either
// fp32 (for calibration) or q8_static (encoder linears int8 with per-channel and input scales).
import { GgmlType, writeGguf, type GgufTensorInput } from './gguf.js';
import { activationScale, quantizeWeightPerChannel } from './quantize.js';
import { ggufMetadata, type TstHyperparameters } from './tst-hyperparameters.js';
import { expectedTensors, linearLayers } from './tst-tensors.js';

/** Input |max| per linear layer name (e.g. "blk.0.ffn_up"), from calibration. */
export type ActivationAbsMax = Record<string, number>;

export function buildTstGguf(
  h: TstHyperparameters,
  weights: Map<string, Float32Array>,
  quant?: { inputAbsMax: ActivationAbsMax },
): Uint8Array {
  const linears = new Map(linearLayers(h).map((l) => [l.name, l]));
  const tensors: GgufTensorInput[] = [];
  for (const spec of expectedTensors(h)) {
    const data = weights.get(spec.name);
    if (!data) throw new Error(`buildTstGguf: weight ${spec.name} is missing`);
    // GGUF ne is fastest-first: reverse the ONNX shape.
    const ne = [...spec.shape].reverse();
    const layer = spec.role === 'linear' ? linears.get(spec.name.replace(/\.weight$/, ''))! : undefined;
    if (quant && layer?.encoder) {
      const absMax = quant.inputAbsMax[layer.name];
      if (absMax === undefined) throw new Error(`buildTstGguf: no calibration |max| for ${layer.name}`);
      const { q, scale } = quantizeWeightPerChannel(data, layer.out, layer.in);
      tensors.push(
        { name: spec.name, type: GgmlType.I8, ne, data: q },
        { name: `${layer.name}.scale`, type: GgmlType.F32, ne: [layer.out], data: scale },
        { name: `${layer.name}.input_scale`, type: GgmlType.F32, ne: [1], data: Float32Array.of(activationScale(absMax)) },
      );
    } else {
      tensors.push({ name: spec.name, type: GgmlType.F32, ne, data });
    }
  }
  return writeGguf(ggufMetadata(h, quant ? 'q8_static' : 'f32'), tensors);
}
