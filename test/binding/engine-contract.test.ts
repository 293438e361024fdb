// The engine against the other implementations of docs/model-format.md on the same weights:
// fp32 vs onnxruntime (the ONNX reference), and int8 vs the TypeScript int8 emulation of
// agent/model/reference-forward.ts. Models come from the project's own tooling (the tiny ONNX
// fixture and agent/model's GGUF writer), so this also pins the GGUF the converter writes.
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AddonModule } from '../../agent/inference/addon-loader.js';
import { ReferenceModel } from '../../agent/model/reference-forward.js';
import { buildTstGguf, readTstGguf } from '../../agent/model/tst-gguf.js';
import { buildTinyOnnx, TINY_HP, tinyWeights } from '../fixtures/model/tiny-onnx.js';
import { realAddon } from './addon-helpers.js';

let addon: AddonModule;

function window(seed: number): Float32Array {
  const n = TINY_HP.windowLength * TINY_HP.channelCount;
  return Float32Array.from({ length: n }, (_, j) => Math.sin(0.37 * j * seed) + 0.1 * seed);
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let j = 0; j < a.length; j++) m = Math.max(m, Math.abs(a[j] - b[j]));
  return m;
}

beforeAll(async () => {
  addon = await realAddon();
});

describe('engine vs the other implementations of the contract', () => {
  it('fp32: matches onnxruntime on the same weights (max abs diff <= 1e-4)', async () => {
    const seed = 3;
    const session = await ort.InferenceSession.create(buildTinyOnnx(TINY_HP, { seed }));
    const model = new addon.Model(buildTstGguf(TINY_HP, tinyWeights(TINY_HP, seed)));
    for (let s = 1; s <= 3; s++) {
      const x = window(s);
      const feeds = {
        [session.inputNames[0]]: new ort.Tensor('float32', x, [
          1,
          TINY_HP.windowLength,
          TINY_HP.channelCount,
        ]),
      };
      const out = await session.run(feeds);
      const [probs, embedding, patchError, channelError] = session.outputNames.map(
        (n) => out[n].data as Float32Array,
      );
      const e = model.runSync(x);
      expect(maxAbsDiff(e.probs, probs)).toBeLessThanOrEqual(1e-4);
      expect(maxAbsDiff(e.embedding, embedding)).toBeLessThanOrEqual(1e-4);
      expect(maxAbsDiff(e.patchError, patchError)).toBeLessThanOrEqual(1e-4);
      expect(maxAbsDiff(e.channelError, channelError)).toBeLessThanOrEqual(1e-4);
    }
    await session.release();
  });

  it('int8: matches the TypeScript int8 emulation (max abs diff <= 1e-4)', () => {
    const weights = tinyWeights(TINY_HP, 4);
    // Calibrate with the engine on the fp32 model, as the converter does.
    const f32 = new addon.Model(buildTstGguf(TINY_HP, weights));
    f32.setCalibration(true);
    for (let s = 1; s <= 8; s++) f32.runSync(window(s));
    const bytes = buildTstGguf(TINY_HP, weights, { inputAbsMax: f32.calibration().inputAbsMax });
    const q8 = new addon.Model(bytes);
    expect(q8.info.quantization).toBe('q8_static');
    const parsed = readTstGguf(bytes);
    const ref = new ReferenceModel(parsed.h, parsed.tensors);
    for (let s = 1; s <= 3; s++) {
      const x = window(s + 10);
      const e = q8.runSync(x);
      const r = ref.run(x);
      expect(maxAbsDiff(e.probs, r.probs)).toBeLessThanOrEqual(1e-4);
      expect(maxAbsDiff(e.embedding, r.embedding)).toBeLessThanOrEqual(1e-4);
      expect(maxAbsDiff(e.patchError, r.patchError)).toBeLessThanOrEqual(1e-4);
    }
  });
});
