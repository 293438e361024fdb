// End to end on the shipped rotating-vib model: raw held-out windows (models/rotating-vib/calib.f32)
// -> TypeScript front end -> onnxruntime-node must reproduce what training computed with the numpy
// front end + torch (calib.json torchProbs), and classify the windows.
import { existsSync, readFileSync } from 'node:fs';
import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { createSpectralFrontend } from '../../agent/inference/frontend.js';

const dir = new URL('../../models/rotating-vib/', import.meta.url);
const calib = JSON.parse(readFileSync(new URL('calib.json', dir), 'utf8')) as {
  count: number;
  windowLength: number;
  channels: string[];
  sampleRateHz: number;
  labelNames: string[];
  labels: string[];
  torchProbs: number[][];
};

describe('rotating-vib: TypeScript front end + ONNX Runtime == numpy front end + torch', () => {
  it('agrees on held-out windows of every class', async () => {
    expect(existsSync(new URL('model.onnx', dir))).toBe(true);
    const session = await ort.InferenceSession.create(new URL('model.onnx', dir).pathname);
    const buf = readFileSync(new URL('calib.f32', dir));
    const all = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
    const t = calib.windowLength;
    expect(all.length).toBe(calib.count * t * calib.channels.length);
    const fe = createSpectralFrontend(t, 1, calib.sampleRateHz, {
      kind: 'spectral',
      bins: 512,
      bandLowHz: 500,
      bandHighHz: 4000,
    });
    // 3 windows per class keep the test short
    const picks: number[] = [];
    for (const label of calib.labelNames)
      picks.push(...calib.labels.flatMap((l, i) => (l === label ? [i] : [])).slice(0, 3));
    let maxDiff = 0;
    for (const i of picks) {
      const f = fe.run(all.subarray(i * t, (i + 1) * t));
      const out = await session.run({ x: new ort.Tensor('float32', f, [1, 512, 3]) });
      const probs = out.probs.data as Float32Array;
      for (let k = 0; k < probs.length; k++)
        maxDiff = Math.max(maxDiff, Math.abs(probs[k] - calib.torchProbs[i][k]));
      const argmax = (v: ArrayLike<number>) => Array.from(v).indexOf(Math.max(...Array.from(v)));
      expect(argmax(probs)).toBe(argmax(calib.torchProbs[i]));
    }
    expect(maxDiff).toBeLessThan(1e-4);
  });
});
