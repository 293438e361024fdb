// run() stays off the JS thread: timers keep firing while a long inference runs on the libuv
// pool. The bound is relative to the measured run time (a blocked loop would be late by about
// a whole run), never an absolute timing.
import { beforeAll, describe, expect, it } from 'vitest';
import type { AddonModule, Model } from '../../agent/inference/addon-loader.js';
import { tinyWindow, type TinyGgufSpec } from '../fixtures/engine/tiny-gguf.js';
import { realAddon, writeModel } from './addon-helpers.js';

// 1024 tokens of width 32: attention (float, N^2) dominates, tens of ms per run.
const SLOW_SPEC: TinyGgufSpec = {
  windowLength: 2048,
  channels: 1,
  sampleRateHz: 100,
  patch: 2,
  d: 32,
  heads: 2,
  ff: 64,
  blocks: 2,
  classes: 3,
  recon: true,
  int8: true,
  seed: 9,
};

let addon: AddonModule;
let model: Model;

beforeAll(async () => {
  addon = await realAddon();
  model = new addon.Model(writeModel('slow.gguf', SLOW_SPEC));
});

describe('event loop during run()', () => {
  it('timers are not delayed by a long run', async () => {
    const x = tinyWindow(SLOW_SPEC, 1);
    model.runSync(x); // warm-up
    const t0 = performance.now();
    const sync = model.runSync(x);
    const runMs = performance.now() - t0;

    const tickMs = 2;
    let maxLateMs = 0;
    let ticks = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      maxLateMs = Math.max(maxLateMs, now - last - tickMs);
      last = now;
      ticks++;
    }, tickMs);
    const runs = 4;
    const start = performance.now();
    const results: Awaited<ReturnType<Model['run']>>[] = [];
    for (let i = 0; i < runs; i++) results.push(await model.run(x));
    const totalMs = performance.now() - start;
    clearInterval(timer);

    for (const r of results) expect(r.probs).toEqual(sync.probs);
    // A blocked loop would show lateness ~ runMs on every run; allow half a run of scheduling noise.
    expect(maxLateMs).toBeLessThan(runMs / 2 + 5);
    expect(ticks).toBeGreaterThan(totalMs / (4 * tickMs));
    expect(runMs).toBeGreaterThan(10); // the model is slow enough for the check to mean something
  });
});
