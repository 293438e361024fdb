// The native engine's int8 model for a benchmark ONNX, built the way `vigil model convert`
// builds it (agent/model/convert.ts steps 1-3): map the ONNX initializers, write the fp32 GGUF,
// calibrate static activation scales with the engine's fp32 calibration mode, then write the
// q8_static GGUF. In memory only: the benchmark needs no bundle on disk.
import type { AddonModule } from '../inference/addon-loader.js';
import { readOnnx } from '../model/onnx-reader.js';
import { buildTstGguf } from '../model/tst-gguf.js';
import { hyperparametersFromOnnxMetadata, type TstHyperparameters } from '../model/tst-hyperparameters.js';
import { mapOnnxTensors } from '../model/tst-tensors.js';

export interface NativeInt8Build {
  h: TstHyperparameters;
  fp32Gguf: Uint8Array;
  int8Gguf: Uint8Array;
  inputAbsMax: Record<string, number>;
}

/** fp32 ONNX bytes + raw calibration windows -> the q8_static GGUF the engine runs. */
export function buildNativeInt8(
  addon: AddonModule,
  onnxBytes: Uint8Array,
  calibration: Float32Array[],
): NativeInt8Build {
  const onnx = readOnnx(onnxBytes);
  const h = hyperparametersFromOnnxMetadata(onnx.metadata);
  const weights = mapOnnxTensors(onnx, h);
  const fp32Gguf = buildTstGguf(h, weights);
  const model = new addon.Model(fp32Gguf);
  let inputAbsMax: Record<string, number>;
  try {
    model.setCalibration(true);
    for (const w of calibration) model.runSync(w);
    inputAbsMax = model.calibration().inputAbsMax;
  } finally {
    model.dispose();
  }
  const int8Gguf = buildTstGguf(h, weights, { inputAbsMax });
  return { h, fp32Gguf, int8Gguf, inputAbsMax };
}
