// AnomalyMonitor on synthetic windows and heads: learning, persistence/restore, scoring, and the
// input-transform path (nothing inferred while learning, standardized windows afterwards).
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { InferenceOutputs } from '../../agent/inference/backend.js';
import type { Manifest } from '../../agent/model/manifest-types.js';
import { AnomalyMonitor } from '../../agent/pipeline/anomaly-monitor.js';
import { tempDir } from '../helpers/temp-dir.js';

const T = 40;
const C = 2;
const log = pino({ level: 'silent' });
function manifest(transform: boolean): Manifest {
  return {
    schema: 'vigil.bundle/1',
    name: 'm',
    version: '1.0.0',
    architecture: 'vigil-tst',
    task: 'anomaly',
    labels: ['normal'],
    normalLabel: 'normal',
    input: { sampleRateHz: 1, windowLength: T, channels: ['a', 'b'], frontend: { kind: 'none' }, hop: T },
    files: {},
    created: '1970-01-01T00:00:00Z',
    ...(transform ? { modelMetadata: { 'vigil.input_transform': { kind: 'site-standardize' } } } : {}),
  };
}

let seed = 1;
const rnd = () => {
  seed = (seed * 16807) % 2147483647;
  return seed / 2147483647 - 0.5;
};
/** Channel a ~ level + noise, channel b ~ 5 + noise. */
function window(level: number): Float32Array {
  const w = new Float32Array(T * C);
  for (let t = 0; t < T; t++) {
    w[t * C] = level + rnd();
    w[t * C + 1] = 5 + rnd();
  }
  return w;
}
/** A stand-in model: the embedding is the window's channel means, recon error is small noise. */
function heads(x: Float32Array): InferenceOutputs {
  const e = new Float32Array(C);
  for (let t = 0; t < T; t++) for (let c = 0; c < C; c++) e[c] += x[t * C + c] / T;
  return {
    probs: new Float32Array([1]),
    embedding: Float32Array.from([e[0] + rnd() * 0.1, e[1] + rnd() * 0.1, rnd()]),
    patchError: new Float32Array(0),
    channelError: Float32Array.from([0.1 + rnd() * 0.01, 0.1 + rnd() * 0.01]),
    inferenceUs: 1,
  };
}

describe('AnomalyMonitor', () => {
  it('learns from the raw model heads, persists, restores, and scores a level shift high', async () => {
    const dir = tempDir('vigil-baselines-');
    let runs = 0;
    const mk = () =>
      new AnomalyMonitor({
        assetId: 'p1',
        modelId: 'm',
        manifest: manifest(false),
        hop: T,
        baselineWindows: 30,
        dir,
        log,
        run: async (u) => (runs++, heads(u)),
      });
    const mon = mk();
    for (let k = 0; k < 30; k++) {
      const w = window(0);
      expect(mon.prepare(w)).toBe(w); // raw windows are inferred as they are
      expect(mon.observe(w, w, heads(w))).toBeNull();
    }
    await new Promise((r) => setTimeout(r, 0));
    expect(mon.state).toBe('ready');
    expect(runs).toBe(0); // learning reused the diagnosis inferences
    const saved = JSON.parse(readFileSync(path.join(dir, 'p1.json'), 'utf8')) as {
      format: string;
      windows: number;
    };
    expect(saved).toMatchObject({ format: 'vigil.baseline/3', windows: 30 });

    const again = mk();
    expect(again.state).toBe('ready');
    const normal = window(0);
    const low = again.observe(normal, normal, heads(normal));
    expect(low!.threshold).toBe(1);
    expect(low!.score).toBeLessThan(1);
    let s = 0;
    for (let k = 0; k < 5; k++) {
      const shifted = window(8);
      s = again.observe(shifted, shifted, heads(shifted))!.score;
    }
    expect(s).toBeGreaterThan(1);
    const top = again.observe(window(8), window(8), heads(window(8)))!.channels[0];
    expect(top.name).toBe('a');
  });

  it('a baseline for another model version is not restored', async () => {
    const dir = tempDir('vigil-baselines-');
    const m1 = new AnomalyMonitor({
      assetId: 'p',
      modelId: 'm',
      manifest: manifest(false),
      hop: T,
      baselineWindows: 10,
      dir,
      log,
      run: async (u) => heads(u),
    });
    for (let k = 0; k < 10; k++) {
      const w = window(0);
      m1.observe(w, w, heads(w));
    }
    await new Promise((r) => setTimeout(r, 0));
    expect(m1.state).toBe('ready');
    const m2 = new AnomalyMonitor({
      assetId: 'p',
      modelId: 'm',
      manifest: { ...manifest(false), version: '2.0.0' },
      hop: T,
      baselineWindows: 10,
      dir,
      log,
      run: async (u) => heads(u),
    });
    expect(m2.state).toBe('learning');
  });

  it('input-transform models: nothing inferred while learning, then standardized windows', async () => {
    const seen: Float32Array[] = [];
    const mon = new AnomalyMonitor({
      assetId: 'pump',
      modelId: 'm',
      manifest: manifest(true),
      hop: T,
      baselineWindows: 20,
      dir: null,
      log,
      run: async (u) => {
        seen.push(u);
        return heads(u);
      },
    });
    expect(mon.transformInput).toBe(true);
    for (let k = 0; k < 20; k++) expect(mon.prepare(window(3))).toBeNull();
    await new Promise((r) => setTimeout(r, 0));
    expect(mon.state).toBe('ready');
    expect(seen).toHaveLength(20); // finish() ran the model on the 20 learned windows
    const u = mon.prepare(window(3)) as Float32Array;
    // standardized: channel a centred near 0 with unit spread, not near 3
    let mean = 0;
    for (let t = 0; t < T; t++) mean += u[t * C] / T;
    expect(Math.abs(mean)).toBeLessThan(1);
  });

  it('drift adaptation: the reference follows a wandering channel, is persisted with the baseline and restored', async () => {
    const dir = tempDir('vigil-baselines-');
    // channel a: white noise plus a slow square wave (slowness ~0.3: it wanders, so it adapts);
    // channel b: white noise only (keeps its commissioning reference)
    let row = 0;
    const wander = (level: number) => {
      const w = new Float32Array(T * C);
      for (let t = 0; t < T; t++, row++) {
        w[t * C] = level + 0.6 * Math.sign(Math.sin(row / 100)) + 3.4 * rnd();
        w[t * C + 1] = 5 + 3.4 * rnd();
      }
      return w;
    };
    const m = manifest(true);
    const adaptive: Manifest = {
      ...m,
      modelMetadata: { ...m.modelMetadata, 'vigil.scoring': { adaptRows: 4, adaptHoldRows: 0 } },
    };
    const mk = () =>
      new AnomalyMonitor({
        assetId: 'drift',
        modelId: 'm',
        manifest: adaptive,
        hop: T,
        baselineWindows: 20,
        dir,
        log,
        run: async (u) => heads(u),
      });
    const mon = mk();
    for (let k = 0; k < 20; k++) mon.prepare(wander(0));
    await new Promise((r) => setTimeout(r, 0));
    expect(mon.state).toBe('ready');
    const start = mon.adaptation!;
    for (let k = 0; k < 6; k++) mon.prepare(wander(1));
    const now = mon.adaptation!;
    expect(now.rows).toBe(6 * T);
    expect(now.adaptedRows).toBeGreaterThan(0);
    expect(now.center[0]).toBeGreaterThan(start.center[0] + 0.1); // moving towards the +1 level
    expect(now.center[1]).toBe(start.center[1]); // white noise: commissioning reference kept
    // persisted (every 10 time constants = 40 rows = every window here) and restored
    const saved = JSON.parse(readFileSync(path.join(dir, 'drift.json'), 'utf8')) as {
      format: string;
      adaptation: { rows: number; center: number[] };
      params: { adaptRows: number };
    };
    expect(saved.format).toBe('vigil.baseline/3');
    expect(saved.params.adaptRows).toBe(4);
    expect(saved.adaptation).toEqual(now);
    expect(mk().adaptation).toEqual(now);
  });

  it("a vigil.baseline/2 file is migrated with the bundle's scoring parameters", async () => {
    const dir = tempDir('vigil-baselines-');
    const m = manifest(false);
    const opts = {
      assetId: 'old',
      modelId: 'm',
      hop: T,
      baselineWindows: 10,
      dir,
      log,
      run: async (u: Float32Array) => heads(u),
    };
    const m1 = new AnomalyMonitor({ ...opts, manifest: m });
    for (let k = 0; k < 10; k++) {
      const w = window(0);
      m1.observe(w, w, heads(w));
    }
    await new Promise((r) => setTimeout(r, 0));
    const file = path.join(dir, 'old.json');
    const j = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown> & {
      params: Record<string, unknown>;
    };
    const { adaptRows: _r, adaptGate: _g, adaptHoldRows: _h, ...params } = j.params;
    writeFileSync(file, JSON.stringify({ ...j, format: 'vigil.baseline/2', params }));
    const m2 = new AnomalyMonitor({
      ...opts,
      manifest: { ...m, modelMetadata: { 'vigil.scoring': { adaptRows: 50 } } },
    });
    expect(m2.state).toBe('ready'); // restored, not relearned
    expect(m2.adaptation).toMatchObject({ rows: 0, frozen: false });
    // an unknown format is refused: learn again
    writeFileSync(file, JSON.stringify({ ...j, format: 'vigil.baseline/9' }));
    expect(new AnomalyMonitor({ ...opts, manifest: m }).state).toBe('learning');
  });
});
