// `eval sim` end to end on a tiny spectral bundle whose labels are simulator fault kinds:
// balanced classes, the held-out speed band taken from the training record, seed overlap with
// the training record refused, and the report's arithmetic consistent with its matrix.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runEvalSim } from '../../agent/eval/sim.js';
import { convert } from '../../agent/model/convert.js';
import { referenceEngineFactory } from '../../agent/model/engines.js';
import { encodeWindows } from '../../agent/model/window-file.js';
import { buildTinyOnnx, rng, TINY_SPECTRAL_HP } from '../fixtures/model/tiny-onnx.js';

const H = TINY_SPECTRAL_HP;
const dir = mkdtempSync(path.join(tmpdir(), 'vigil-eval-sim-'));
const bundle = path.join(dir, 'bundle');

beforeAll(async () => {
  const src = path.join(dir, 'src');
  mkdirSync(src);
  writeFileSync(path.join(src, 'model.onnx'), buildTinyOnnx(H));
  // The training record's splits: seeds 100000.. and 50100000.. (the latter collides with --seed 1).
  writeFileSync(
    path.join(src, 'training.json'),
    JSON.stringify({
      data: {
        train: { seedBase: 100000, assetsPerClass: 10, rpm: [600, 3600], excludeRpm: [1700, 2100] },
        other: { seedBase: 50_100_000, assetsPerClass: 2 },
      },
    }),
  );
  const r = rng(3);
  const w = Array.from({ length: 40 }, () =>
    Float32Array.from({ length: 256 }, (_, t) => Math.sin(t * (0.3 + r())) + 0.1 * r()),
  );
  const enc = encodeWindows(w, { windowLength: 256, channels: 1, channelNames: ['accel'] });
  writeFileSync(path.join(src, 'calib.f32'), enc.data);
  writeFileSync(path.join(src, 'calib.json'), enc.descriptor);
  const res = await convert({
    onnxPath: path.join(src, 'model.onnx'),
    calibPath: path.join(src, 'calib.json'),
    outDir: bundle,
    engine: referenceEngineFactory(),
    minAgreement: 0, // random weights: this test is about eval sim, not quantization
    int8Onnx: false,
  });
  expect(res.accepted).toBe(true);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('eval sim on a bundle', () => {
  it('simulates balanced windows in the held-out speed band and reports consistent figures', async () => {
    const r = await runEvalSim({ bundleDir: bundle, seed: 7, count: 12, backend: 'onnx' });
    expect(r.windows).toBe(12);
    expect(r.ranges.rpm).toEqual([1700, 2100]);
    expect(r.seeds).toEqual([50_700_000, 50_700_012]);
    expect(r.classes.map((c) => c.support)).toEqual([4, 4, 4]);
    const total = r.confusion.flat().reduce((a, b) => a + b, 0);
    const trace = r.confusion.reduce((a, row, i) => a + row[i], 0);
    expect(total).toBe(12);
    expect(r.accuracy).toBeCloseTo(trace / 12, 12);
    expect(r.backend).toMatch(/^onnx/);
  });

  it('refuses seeds that overlap the training record', async () => {
    await expect(runEvalSim({ bundleDir: bundle, seed: 1, count: 12, backend: 'onnx' })).rejects.toThrow(
      /--seed: seeds 50100000\.\.50100011 overlap the training record's 50100000\.\.50100005/,
    );
  });
});
