// The benchmark's synthetic vigil-tst ONNX: accepted by the converter's graph check, computes
// the contract's math (onnxruntime vs the TypeScript reference forward), and with init 'uniform'
// is the converter fixture (test/fixtures/model/tiny-onnx.ts wraps it), its bytes pinned.
import { createHash } from 'node:crypto';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { benchHyperparameters } from '../../agent/bench/bench-models.js';
import { randomWindows } from '../../agent/bench/seeded-rng.js';
import { maxAbsDiff } from '../../agent/bench/stats.js';
import { buildSyntheticOnnx, syntheticWeights } from '../../agent/bench/synthetic-onnx.js';
import { readOnnx } from '../../agent/model/onnx-reader.js';
import { ReferenceModel } from '../../agent/model/reference-forward.js';
import { hyperparametersFromOnnxMetadata, tstDims } from '../../agent/model/tst-hyperparameters.js';
import { mapOnnxTensors } from '../../agent/model/tst-tensors.js';
import { TINY_HP } from '../fixtures/model/tiny-onnx.js';

describe('buildSyntheticOnnx', () => {
  it('passes the converter graph check with the hyperparameters it was built from', () => {
    const h = benchHyperparameters('tiny');
    const onnx = readOnnx(buildSyntheticOnnx(h, { seed: 3 }));
    const back = hyperparametersFromOnnxMetadata(onnx.metadata);
    expect(back).toEqual(h);
    const w = mapOnnxTensors(onnx, back);
    expect([...w.keys()]).toEqual([...syntheticWeights(h, 3).keys()]);
  });

  it('uses Xavier-scaled linear weights and small biases', () => {
    const w = syntheticWeights(benchHyperparameters('mid'), 5);
    const up = w.get('blk.0.ffn_up.weight')!; // [512, 128]: a = sqrt(6 / 640)
    const a = Math.sqrt(6 / 640);
    expect(Math.max(...up.map(Math.abs))).toBeLessThanOrEqual(a);
    expect(Math.max(...up.map(Math.abs))).toBeGreaterThan(0.95 * a);
    expect(Math.max(...w.get('blk.0.ffn_up.bias')!.map(Math.abs))).toBeLessThanOrEqual(0.02);
    expect(Math.min(...w.get('norm.std')!)).toBeGreaterThanOrEqual(0.5);
  });

  it('computes the contract forward: onnxruntime matches the TypeScript reference', async () => {
    const h = benchHyperparameters('tiny');
    const bytes = buildSyntheticOnnx(h, { seed: 9 });
    const ref = new ReferenceModel(h, mapOnnxTensors(readOnnx(bytes), h));
    const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
    const { Tf, Cf } = tstDims(h);
    try {
      for (const x of randomWindows(3, Tf * Cf, 4)) {
        const o = await s.run({ x: new ort.Tensor('float32', x, [1, Tf, Cf]) });
        const r = ref.run(x);
        expect(maxAbsDiff(o.probs.data as Float32Array, r.probs)).toBeLessThan(1e-4);
        expect(maxAbsDiff(o.embedding.data as Float32Array, r.embedding)).toBeLessThan(1e-4);
        expect(maxAbsDiff(o.patch_error.data as Float32Array, r.patchError)).toBeLessThan(1e-3);
        expect(maxAbsDiff(o.channel_error.data as Float32Array, r.channelError)).toBeLessThan(1e-3);
      }
    } finally {
      await s.release();
    }
  });

  it("with init 'uniform' builds the converter fixture's exact bytes (pinned digests)", () => {
    // The converter and binding tests' fixture (test/fixtures/model/tiny-onnx.ts) is this builder
    // with init 'uniform'. These digests are those of the fixture's original, separate
    // implementation: a change to the builder that changes the fixture fails here.
    const digest = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
    expect(digest(buildSyntheticOnnx(TINY_HP, { seed: 1, init: 'uniform', producer: 'vigil-test' }))).toBe(
      '141e93ca530e92d7d803eb5e04bcce5ef7ef22a979f0def7f883e1ff2c222b3d',
    );
    expect(digest(buildSyntheticOnnx(TINY_HP, { seed: 4, init: 'uniform', producer: 'vigil-test' }))).toBe(
      '98296983e1ca96b866d166c7c303ab6e61e90ae2899ca5d52edcac2b1d22fac5',
    );
  });
});
