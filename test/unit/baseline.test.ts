import { describe, expect, it } from 'vitest';
import {
  BaselineLearner,
  fitScoreStats,
  fitSiteTransform,
  movingMeans,
  restoreBaseline,
  serializeBaseline,
} from '../../agent/diagnosis/baseline.js';
import {
  DEFAULT_SCORING,
  applySiteTransform,
  scoreWindow,
  type ScoreHeads,
} from '../../agent/diagnosis/anomaly-score.js';

// Deterministic pseudo-noise (no Math.random in tests).
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

// A stand-in for the model: embedding = per-channel window means and spreads, channel_error =
// per-channel mean square of the transformed window. Enough structure for the statistics.
async function fakeHeads(u: Float32Array): Promise<ScoreHeads> {
  const c = 3;
  const t = u.length / c;
  const emb = new Float32Array(2 * c);
  const err = new Float32Array(c);
  for (let k = 0; k < c; k++) {
    let s = 0;
    let q = 0;
    for (let r = 0; r < t; r++) {
      s += u[r * c + k];
      q += u[r * c + k] ** 2;
    }
    emb[k] = s / t;
    emb[c + k] = Math.sqrt(q / t);
    err[k] = q / t;
  }
  return { embedding: emb, channelError: err };
}

describe('site transform fit', () => {
  it('moving means', () => {
    expect(movingMeans([1, 2, 3, 4], 2)).toEqual([1.5, 2.5, 3.5]);
    expect(movingMeans([1, 2, 3], 3)).toEqual([2]);
  });

  it('center/scale per channel; a ramp is slow, noise is not, a constant channel gets the floor', () => {
    const rnd = lcg(1);
    const rows = Array.from({ length: 200 }, (_, i) => [10 + rnd(), 0.01 * i, 5]);
    const t = fitSiteTransform(rows, { slownessWindow: 32, slowThreshold: 0.4, clip: 10 });
    expect(t.center[2]).toBe(5);
    expect(t.scale[2]).toBeCloseTo(5e-6, 18); // 1e-6 * max(1, |5|)
    expect(t.slowness[2]).toBe(0);
    expect(t.slow).toEqual([false, true, false]);
    expect(t.slowness[0]).toBeLessThan(0.1); // white noise: about 1/32
    expect(t.slowness[1]).toBeGreaterThan(0.7); // ramp: the moving means span almost the whole range
    expect(t.center[1]).toBeCloseTo(0.995, 12);
    expect(t.scale[1]).toBeCloseTo(0.01 * Math.sqrt((200 * 200 - 1) / 12), 12);
    expect(() => fitSiteTransform(rows.slice(0, 10))).toThrow(
      expect.objectContaining({ code: 'ANOMALY_BASELINE_SHORT' }),
    );
  });
});

describe('BaselineLearner', () => {
  const T = 8;
  const C = 3;
  const rnd = lcg(7);
  const stream = Array.from({ length: 120 }, (_, i) => [
    1 + 0.1 * rnd(),
    50 + 0.02 * i + 0.01 * rnd(),
    -3 + rnd(),
  ]);
  const windowAt = (end: number) => Float64Array.from(stream.slice(end - T + 1, end + 1).flat());

  async function learn(n = 60) {
    const l = new BaselineLearner({
      model: 'm',
      modelVersion: '1.0.0',
      channels: ['a', 'b', 'c'],
      windowLength: T,
      hop: 1,
      windows: n,
    });
    for (let end = T - 1; end < T - 1 + n; end++) {
      expect(l.state).toBe('learning');
      l.addWindow(windowAt(end));
    }
    expect(l.state).toBe('full');
    return { l, b: await l.finish(fakeHeads) };
  }

  it('collects each row once (hop 1) and becomes ready with thresholds from its own scores', async () => {
    const { l, b } = await learn();
    expect(l.learnedWindows).toBe(60);
    expect(b.rows).toBe(T + 59);
    expect(b.windows).toBe(60);
    // The transform is fitted on exactly those rows.
    const t = fitSiteTransform(stream.slice(0, T + 59));
    expect(b.transform).toEqual(t);
    expect(b.slow).toEqual(t.slow);
    for (const k of ['level', 'recon', 't2'] as const) expect(b.thresholds[k]).toBeGreaterThan(0);
    // Baseline windows score below the alarm level by construction (quantile 0.99 * margin 3).
    const scores: number[] = [];
    for (let end = T - 1; end < T - 1 + 60; end++) {
      const u = applySiteTransform(b.transform, windowAt(end), C);
      scores.push(scoreWindow(b, u, await fakeHeads(u), b.channels).score);
    }
    expect(Math.max(...scores)).toBeLessThan(1);
    // A level shift of 40 baseline std on channel a alarms, and a is the channel to blame.
    const shifted = windowAt(T + 70).map((v, i) => (i % C === 0 ? v + 40 * b.transform.scale[0] : v));
    const u = applySiteTransform(b.transform, shifted, C);
    const s = scoreWindow(b, u, await fakeHeads(u), b.channels);
    expect(s.score).toBeGreaterThan(1);
    expect(s.channels[0].contribution).toBeGreaterThan(0.5);
  });

  it('the threshold is the quantile of the baseline component scores times the margin', async () => {
    const us = Array.from({ length: 5 }, (_, i) => Float32Array.from([0, 0, 0, i, 0, 0]));
    const heads = us.map(() => ({ embedding: new Float32Array(0), channelError: new Float32Array(0) }));
    const st = fitScoreStats(
      { ...DEFAULT_SCORING, levelWindow: 1, quantile: 0.5, margin: 2, sdFloor: 0.05 },
      [false, false, false],
      us,
      heads,
    );
    // level m of channel 0 = 0,1,2,3,4: mean 2, sd sqrt(2); z^2 = 2, 0.5, 0, 0.5, 2; median 0.5 * 2 = 1
    expect(st.levelMean[0]).toBe(2);
    expect(st.levelSd[0]).toBeCloseTo(Math.SQRT2, 12);
    expect(st.levelSd[1]).toBe(0.05); // constant channel: the floor
    expect(st.thresholds.level).toBeCloseTo(1, 12);
    expect(st.reconMean).toEqual([]);
    expect(st.embMean).toEqual([]);
  });

  it('serializes to JSON and restores to the same scores', async () => {
    const { b } = await learn(40);
    const r = restoreBaseline(serializeBaseline(b));
    expect(r).toEqual(JSON.parse(JSON.stringify(b)));
    const u = applySiteTransform(r.transform, windowAt(100), C);
    const h = await fakeHeads(u);
    expect(scoreWindow(r, u, h, r.channels)).toEqual(
      scoreWindow(b, applySiteTransform(b.transform, windowAt(100), C), h, b.channels),
    );
  });

  it('rejects a corrupted baseline naming the field', async () => {
    const { b } = await learn(40);
    const j = JSON.parse(serializeBaseline(b));
    expect(() => restoreBaseline('{')).toThrow(expect.objectContaining({ code: 'ANOMALY_BASELINE_INVALID' }));
    expect(() => restoreBaseline(JSON.stringify({ ...j, format: 'x' }))).toThrow(/baseline\.format/);
    expect(() => restoreBaseline(JSON.stringify({ ...j, levelSd: [1] }))).toThrow(/baseline\.levelSd/);
    expect(() => restoreBaseline(JSON.stringify({ ...j, thresholds: { ...j.thresholds, t2: 0 } }))).toThrow(
      /thresholds\.t2/,
    );
  });

  it('migrates a vigil.baseline/2 file: scoring parameters it predates come from the caller', async () => {
    const { b } = await learn(40);
    const j = JSON.parse(serializeBaseline(b)) as Record<string, unknown> & {
      params: Record<string, unknown>;
    };
    const { adaptRows: _r, adaptGate: _g, adaptHoldRows: _h, ...oldParams } = j.params;
    const v2 = JSON.stringify({ ...j, format: 'vigil.baseline/2', params: oldParams });
    const r = restoreBaseline(v2, { adaptRows: 100, adaptGate: 0.6 });
    expect(r.format).toBe('vigil.baseline/3');
    expect(r.params).toMatchObject({
      adaptRows: 100,
      adaptGate: 0.6,
      adaptHoldRows: DEFAULT_SCORING.adaptHoldRows,
    });
    expect(r.adaptation).toBeUndefined(); // starts from the commissioning reference
    expect(r.thresholds).toEqual(b.thresholds);
    // without a caller's parameters: the defaults (adaptation off)
    expect(restoreBaseline(v2).params.adaptRows).toBe(0);
  });

  it('restores a persisted adaptation state and rejects a broken one naming the field', async () => {
    const { b } = await learn(40);
    const adaptation = {
      center: [1, 2, 3],
      gate: 0.2,
      frozen: false,
      quietRows: 5,
      rows: 50,
      adaptedRows: 40,
    };
    const r = restoreBaseline(serializeBaseline({ ...b, adaptation }));
    expect(r.adaptation).toEqual(adaptation);
    const j = JSON.parse(serializeBaseline({ ...b, adaptation })) as Record<string, unknown>;
    expect(() =>
      restoreBaseline(JSON.stringify({ ...j, adaptation: { ...adaptation, center: [1] } })),
    ).toThrow(/baseline\.adaptation\.center/);
    expect(() => restoreBaseline(JSON.stringify({ ...j, adaptation: { ...adaptation, frozen: 1 } }))).toThrow(
      /baseline\.adaptation\.frozen/,
    );
    const params = { ...(j.params as object), adaptGate: 2 };
    expect(() => restoreBaseline(JSON.stringify({ ...j, params }))).toThrow(/baseline\.params\.adaptGate/);
  });

  it('with a hop, takes the first window whole and then the last hop rows of each window', async () => {
    const l = new BaselineLearner({
      model: 'm',
      modelVersion: '1',
      channels: ['a', 'b', 'c'],
      windowLength: T,
      hop: 4,
      windows: 12,
    });
    for (let k = 0; k < 12; k++) l.addWindow(windowAt(T - 1 + 4 * k));
    const b = await l.finish(fakeHeads);
    expect(b.rows).toBe(T + 4 * 11);
    // the rows are the stream's first T + 44 rows, in order: same transform as fitting them directly
    expect(b.transform).toEqual(fitSiteTransform(stream.slice(0, T + 44)));
    // a full learner ignores further windows
    expect(l.addWindow(windowAt(100))).toBe('full');
    expect(l.learnedWindows).toBe(12);
  });

  it('validates its options and window shape', () => {
    expect(
      () =>
        new BaselineLearner({
          model: 'm',
          modelVersion: '1',
          channels: ['a'],
          windowLength: 4,
          hop: 0,
          windows: 10,
        }),
    ).toThrow(/hop/);
    const l = new BaselineLearner({
      model: 'm',
      modelVersion: '1',
      channels: ['a', 'b'],
      windowLength: 4,
      hop: 2,
      windows: 2,
    });
    expect(() => l.addWindow([1, 2, 3])).toThrow(expect.objectContaining({ code: 'ANOMALY_SHAPE' }));
  });
});
