// SiteAdapter (agent/diagnosis/baseline-adaptation.ts): the gated drift adaptation of the site
// transform's level reference. Rows are its clock (hop rows per window): no timers, no sleeps.
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SCORING,
  DEFAULT_TRANSFORM,
  applySiteTransform,
  type ScoringParams,
} from '../../agent/diagnosis/anomaly-score.js';
import {
  SiteAdapter,
  adaptationWeights,
  initialAdaptation,
  type AdaptableBaseline,
} from '../../agent/diagnosis/baseline-adaptation.js';

const T = 8;
const C = 3;
// slowness: channel 0 wanders at the slow threshold (full rate), channel 1 is white noise
// (keeps its commissioning reference), channel 2 is slow (centred per window, never adapted).
const SLOWNESS = [DEFAULT_TRANSFORM.slowThreshold - 1e-9, 1 / 32, 0.9];
/** Twice the white-noise slowness: adaptation weight 0 there. */
const FLOOR = 2 / DEFAULT_TRANSFORM.slownessWindow;
/** Channel 0's adaptation weight: sqrt of where its slowness lies from the floor to the slow threshold. */
const W0 = Math.sqrt((SLOWNESS[0] - FLOOR) / (DEFAULT_TRANSFORM.slowThreshold - FLOOR));

function baseline(p: Partial<ScoringParams> = {}): AdaptableBaseline {
  return {
    params: { ...DEFAULT_SCORING, levelWindow: 4, adaptRows: 10, adaptGate: 0.5, adaptHoldRows: 6, ...p },
    slow: [false, false, true],
    levelMean: [0, 0, 0],
    levelSd: [1, 1, 1],
    reconMean: [],
    reconSd: [],
    embMean: [],
    embChol: [],
    // level score = max_c (m[c])^2 / 100: a window 5 std off scores 0.25, 10 std off 1.0
    thresholds: { level: 100, recon: 1, t2: 1 },
    transform: {
      center: [0, 0, 0],
      scale: [1, 1, 1],
      slowness: SLOWNESS,
      slow: [false, false, true],
      clip: 50,
    },
    transformParams: DEFAULT_TRANSFORM,
  };
}

/** A window whose every row is `v` (all channels). */
const flat = (v: number) => new Float32Array(T * C).fill(v);

describe('adaptationWeights', () => {
  it('0 up to twice the white-noise slowness, 1 at the slow threshold, sqrt in between, 0 for slow channels', () => {
    const t = baseline().transform;
    const mid = (FLOOR + DEFAULT_TRANSFORM.slowThreshold) / 2;
    const w = adaptationWeights(
      {
        ...t,
        slowness: [FLOOR, mid, DEFAULT_TRANSFORM.slowThreshold, 0.9],
        slow: [false, false, false, true],
        center: [0, 0, 0, 0],
      },
      DEFAULT_TRANSFORM,
    );
    expect(w[0]).toBe(0);
    expect(w[1]).toBeCloseTo(Math.sqrt(0.5), 12);
    expect(w[2]).toBe(1);
    expect(w[3]).toBe(0);
  });
});

describe('SiteAdapter', () => {
  it('adaptRows 0: the commissioning transform, no state change', () => {
    const b = baseline({ adaptRows: 0 });
    const a = new SiteAdapter(b, 1);
    const raw = flat(2);
    expect(a.next(raw)).toEqual(applySiteTransform(b.transform, raw));
    expect(a.state).toEqual(initialAdaptation(b.transform));
  });

  it('below the gate the reference follows an EWMA with time constant adaptRows / w', () => {
    const a = new SiteAdapter(baseline(), 1);
    const rate = 1 - Math.exp(-1 / 10);
    // 3 std off: level score 0.09, below the gate 0.5
    for (let k = 1; k <= 20; k++) {
      const u = a.next(flat(3));
      // the window itself is transformed with the reference before its own update
      const before = 3 * (1 - (1 - W0 * rate) ** (k - 1));
      expect(u[0]).toBeCloseTo(3 - before, 5);
      expect(a.state.center[0]).toBeCloseTo(3 * (1 - (1 - W0 * rate) ** k), 10);
    }
    expect(a.state.center[1]).toBe(0); // white noise: commissioning reference kept
    expect(a.state.center[2]).toBe(0); // slow: never adapted (centred per window)
    expect(a.state).toMatchObject({ frozen: false, rows: 20, adaptedRows: 20 });
  });

  it('between the gate and the alarm level it does not adapt (and does not freeze)', () => {
    const a = new SiteAdapter(baseline(), 1);
    for (let k = 0; k < 10; k++) a.next(flat(8)); // 8 std: level score 0.64 > gate 0.5
    expect(a.state).toMatchObject({ center: [0, 0, 0], frozen: false, adaptedRows: 0, quietRows: 0 });
  });

  it('a level alarm freezes it until the smoothed level score stays below the gate for adaptHoldRows rows', () => {
    const a = new SiteAdapter(baseline({ ewmaAlpha: 1 }), 1); // no smoothing: the gate is the window's level score
    a.next(flat(12)); // 1.44 > 1: frozen
    expect(a.state.frozen).toBe(true);
    expect(a.frozen).toBe(true);
    for (let k = 1; k <= 5; k++) {
      a.next(flat(1)); // quiet, but not for long enough
      expect(a.state).toMatchObject({ frozen: true, quietRows: k, adaptedRows: 0 });
    }
    a.next(flat(6)); // 0.36 < gate: still quiet, the 6th row
    expect(a.state.frozen).toBe(false);
    expect(a.state.adaptedRows).toBe(1); // the 6th quiet row already adapts
    a.next(flat(8)); // 0.64 >= gate: quiet count restarts, no adaptation
    expect(a.state).toMatchObject({ quietRows: 0, adaptedRows: 1, frozen: false });
  });

  it('a noisy window in the quiet stretch restarts the hold', () => {
    const a = new SiteAdapter(baseline({ ewmaAlpha: 1 }), 1);
    a.next(flat(12));
    for (let k = 0; k < 4; k++) a.next(flat(0));
    a.next(flat(9)); // 0.81: not quiet
    for (let k = 0; k < 5; k++) a.next(flat(0));
    expect(a.state.frozen).toBe(true);
    a.next(flat(0));
    expect(a.state.frozen).toBe(false);
  });

  it('hop counts rows: the rate is 1 - exp(-hop / adaptRows) towards the mean of the newest hop rows', () => {
    const hop = 4;
    const a = new SiteAdapter(baseline({ adaptHoldRows: 8, ewmaAlpha: 1 }), hop);
    const raw = new Float32Array(T * C);
    for (let r = 0; r < T; r++) raw[r * C] = r < T - hop ? 0 : 2; // newest 4 rows at 2
    a.next(raw);
    expect(a.state.center[0]).toBeCloseTo(W0 * (1 - Math.exp(-hop / 10)) * 2, 10);
    expect(a.state).toMatchObject({ rows: hop, adaptedRows: hop, quietRows: hop });
    // hold in rows: with hop 4, two quiet windows after an alarm make 8 rows
    a.next(flat(12));
    a.next(flat(0));
    expect(a.state.frozen).toBe(true);
    a.next(flat(0));
    expect(a.state.frozen).toBe(false);
  });

  it('resumes from a persisted state and leaves the baseline untouched', () => {
    const b = baseline();
    const a = new SiteAdapter(b, 1);
    for (let k = 0; k < 5; k++) a.next(flat(3));
    const resumed = new SiteAdapter({ ...b, adaptation: a.state }, 1);
    expect(resumed.next(flat(3))).toEqual(a.next(flat(3)));
    expect(resumed.state).toEqual(a.state);
    expect(b.transform.center).toEqual([0, 0, 0]);
  });

  it('rejects bad parameters with a stable code', () => {
    expect(() => new SiteAdapter(baseline({ adaptGate: 0 }), 1)).toThrow(
      expect.objectContaining({ code: 'ANOMALY_PARAM' }),
    );
    expect(() => new SiteAdapter(baseline({ adaptRows: -1 }), 1)).toThrow(/adaptRows/);
    expect(() => new SiteAdapter(baseline(), 0)).toThrow(/hop/);
  });
});
