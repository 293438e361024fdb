// The binding's output storage and input scan (addon/binding/run_worker.cc): each call's four
// outputs are views on one fresh ArrayBuffer, laid out back to back, never written again by a
// later call; the vectorized finite check rejects every non-finite bit pattern at every index
// (vector body and tail) and accepts every finite one.
import { beforeAll, describe, expect, it } from 'vitest';
import type { AddonModule, RunOutputs } from '../../agent/inference/addon-loader.js';
import { TINY_SPEC, tinyWindow, type TinyGgufSpec } from '../fixtures/engine/tiny-gguf.js';
import { expectSameOutputs, outputArrays } from '../helpers/outputs.js';
import { realAddon, rejected, thrown, writeModel } from './addon-helpers.js';

let addon: AddonModule;
// 20 x 3 = 60 values: not a multiple of any vector width, so the scan's tail runs too.
const ODD_SPEC: TinyGgufSpec = { ...TINY_SPEC, windowLength: 20, channels: 3, seed: 11 };
const NO_RECON_SPEC: TinyGgufSpec = { ...TINY_SPEC, recon: false, seed: 12 };
let oddPath: string;
let noReconPath: string;

beforeAll(async () => {
  addon = await realAddon();
  oddPath = writeModel('outputs-odd.gguf', ODD_SPEC);
  noReconPath = writeModel('outputs-norecon.gguf', NO_RECON_SPEC);
});

/** The four outputs: one buffer, back to back in contract order, exactly the model's lengths. */
function expectLayout(r: RunOutputs, lengths: [number, number, number, number], byteOffset = 0): void {
  const arrays = [r.probs, r.embedding, r.patchError, r.channelError];
  let at = byteOffset;
  arrays.forEach((a, i) => {
    expect(a).toBeInstanceOf(Float32Array);
    expect(a.buffer).toBe(r.probs.buffer);
    expect(a.length).toBe(lengths[i]);
    expect(a.byteOffset).toBe(at);
    at += a.byteLength;
  });
}

describe('outputs', () => {
  it('runSync and run: four views on one buffer with the model lengths (K, d, N, C)', async () => {
    const m = new addon.Model(oddPath);
    const { classCount, embeddingLength, tokens, featureChannels } = m.info.hyperparameters;
    const lengths: [number, number, number, number] = [classCount, embeddingLength, tokens, featureChannels];
    expect(lengths).toEqual([3, 8, 5, 3]);
    const x = tinyWindow(ODD_SPEC, 1);
    const s = m.runSync(x);
    const a = await m.run(x);
    for (const r of [s, a]) {
      expectLayout(r, lengths);
      expect(r.probs.buffer.byteLength).toBe(4 * (3 + 8 + 5 + 3));
    }
    expectSameOutputs(a, s);
    expect(s.probs.reduce((p, v) => p + v, 0)).toBeCloseTo(1, 5);
  });

  it('without reconstruction the error outputs are empty views and the buffer holds K + d', async () => {
    const m = new addon.Model(noReconPath);
    const x = tinyWindow(NO_RECON_SPEC, 2);
    for (const r of [m.runSync(x), await m.run(x), ...(await m.runBatch([x, x]))]) {
      expect(r.patchError.length).toBe(0);
      expect(r.channelError.length).toBe(0);
      expect(r.probs.length).toBe(3);
      expect(r.embedding.length).toBe(8);
    }
    expect(m.runSync(x).probs.buffer.byteLength).toBe(4 * (3 + 8));
  });

  it('outputs handed out stay untouched by later calls, sync or async', async () => {
    const m = new addon.Model(oddPath);
    const first = m.runSync(tinyWindow(ODD_SPEC, 3));
    const kept = outputArrays(first);
    const later: RunOutputs[] = [m.runSync(tinyWindow(ODD_SPEC, 4))];
    later.push(...(await Promise.all([5, 6, 7].map((k) => m.run(tinyWindow(ODD_SPEC, k))))));
    later.push(...(await m.runBatch([8, 9].map((k) => tinyWindow(ODD_SPEC, k)))));
    expect(outputArrays(first)).toEqual(kept);
    for (const r of later) {
      expect(r.probs.buffer).not.toBe(first.probs.buffer);
      expect(outputArrays(r)).not.toEqual(kept); // other windows, other outputs
    }
    // Concurrent runs of distinct windows each get their own window's outputs.
    const xs = [10, 11, 12, 13, 14, 15].map((k) => tinyWindow(ODD_SPEC, k));
    const async = await Promise.all(xs.map((x) => m.run(x)));
    xs.forEach((x, i) => expectSameOutputs(async[i], m.runSync(x)));
  });

  it('writing into one output changes neither its neighbours nor other results', async () => {
    const m = new addon.Model(oddPath);
    const x = tinyWindow(ODD_SPEC, 16);
    const r = m.runSync(x);
    const before = outputArrays(r);
    r.probs.fill(99);
    r.patchError.fill(-1);
    const after = outputArrays(r);
    expect(after.embedding).toEqual(before.embedding);
    expect(after.channelError).toEqual(before.channelError);
    expect(outputArrays(m.runSync(x))).toEqual(before);
    const [b0, b1] = await m.runBatch([x, x]);
    b0.embedding.fill(7);
    expect(outputArrays(b1)).toEqual(before);
  });

  it('runBatch: one buffer for the batch, each window its own block, each equal to runSync', async () => {
    const m = new addon.Model(oddPath);
    const xs = [17, 18, 19].map((k) => tinyWindow(ODD_SPEC, k));
    const rs = await m.runBatch(xs);
    const block = 4 * (3 + 8 + 5 + 3);
    expect(rs[0].probs.buffer.byteLength).toBe(3 * block);
    rs.forEach((r, i) => {
      expect(r.probs.buffer).toBe(rs[0].probs.buffer);
      expectLayout(r, [3, 8, 5, 3], i * block);
      expectSameOutputs(r, m.runSync(xs[i]));
      expect(r.inferenceUs).toBeGreaterThan(0);
    });
  });
});

describe('the finite check', () => {
  // Quiet and signalling NaNs of both signs (JS may canonicalize NaN payloads on some paths,
  // so each pattern is written through a Uint32Array view), and both infinities.
  const NON_FINITE = [0x7fc00000, 0xffc00000, 0x7f800001, 0xff800001, 0x7fffffff, 0x7f800000, 0xff800000];
  // Largest finite of both signs, smallest subnormal, -0.
  const FINITE = [0x7f7fffff, 0xff7fffff, 0x00000001, 0x80000000];

  it('rejects a non-finite value at every index with its index, sync, async and batched', async () => {
    const m = new addon.Model(oddPath);
    const len = 60;
    for (let j = 0; j < len; j++) {
      const pattern = NON_FINITE[j % NON_FINITE.length];
      const x = tinyWindow(ODD_SPEC, 20);
      new Uint32Array(x.buffer)[j] = pattern;
      const s = thrown(() => m.runSync(x));
      expect(s.code).toBe('ENGINE_INPUT_NONFINITE');
      expect(s.message).toContain(`at index ${j}:`);
      const a = await rejected(m.run(x));
      expect(a.code).toBe('ENGINE_INPUT_NONFINITE');
      expect(a.message).toBe(s.message);
      const b = (await rejected(m.runBatch([tinyWindow(ODD_SPEC, 21), x]))) as Error & {
        code?: string;
        index?: number;
      };
      expect(b.code).toBe('ENGINE_INPUT_NONFINITE');
      expect(b.index).toBe(1);
      expect(b.message).toBe(`failed to run batch input 1 of 2: ${s.message}`);
    }
  });

  it('reports the first non-finite index when there are several', () => {
    const m = new addon.Model(oddPath);
    const x = tinyWindow(ODD_SPEC, 22);
    x[59] = NaN;
    x[33] = Infinity;
    x[40] = -Infinity;
    expect(thrown(() => m.runSync(x)).message).toContain('inf at index 33');
  });

  it('accepts extreme finite values (max, subnormal, -0)', async () => {
    const m = new addon.Model(oddPath);
    const x = tinyWindow(ODD_SPEC, 23);
    const u = new Uint32Array(x.buffer);
    FINITE.forEach((p, i) => (u[i * 15] = p));
    const s = m.runSync(x);
    const a = await m.run(x);
    const [b] = await m.runBatch([x]);
    expectSameOutputs(a, s);
    expectSameOutputs(b, s);
    expect(s.probs.every(Number.isFinite)).toBe(true);
  });
});
