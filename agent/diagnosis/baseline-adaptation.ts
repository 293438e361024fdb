// Gated drift adaptation of the site transform's level reference (pure: no I/O, no clock).
//
// A 400-row commissioning baseline cannot see how far a channel's level wanders over hours of
// normal operation (SKAB anomaly-free.csv: accelerometers and flow move 2-3 baseline std within
// ten minutes). SiteAdapter lets the reference `center[c]` of a non-slow channel follow the data
// with an exponential moving average, but only while the data look normal:
//
//   u_k   = applySiteTransform({ ...transform, center }, raw_k)          (the window's input)
//   g_k   = EWMA(levelScore(u_k), ewmaAlpha)                            (smoothed level score)
//   frozen  <- true when g_k > 1 (a level alarm); false again once g has stayed below
//              adaptGate for adaptHoldRows rows
//   if !frozen and g_k < adaptGate:
//       center[c] += w[c] * (1 - exp(-hop / adaptRows)) * (mean of raw_k's newest min(hop, T) rows - center[c])
//   w[c]  = sqrt(clamp((slowness[c] - 2/W) / (slowThreshold - 2/W), 0, 1)),  W = slownessWindow
//
// w ranks channels by how much slow wander the commissioning rows showed: white noise has
// slowness 1/W, and a channel at most twice that keeps its commissioning reference (w = 0, its
// level stays evidence, e.g. SKAB valve flow), while a channel near the slow threshold adapts with
// the full time constant adaptRows (beyond the threshold the channel is slow and centred per
// window anyway). The gate uses only the level statistic, which needs no model output, so the
// reference of window k depends on windows < k alone: the agent adapts when it prepares a window
// (before inference, in stream order) and the offline protocol computes exactly the same inputs,
// whatever the inference queue does. docs/anomaly.md gives the figures behind the defaults.
import { ScoreError, applySiteTransform, levelScore, type ScoreStats } from './anomaly-score.js';
import type { SiteTransform, TransformParams } from './anomaly-score.js';

/** Adapted state (persisted with the baseline, format vigil.baseline/3). */
export interface AdaptationState {
  /** Current level reference per channel (slow channels keep the commissioning value). */
  center: number[];
  /** Smoothed level score of the last window (null before the first). */
  gate: number | null;
  frozen: boolean;
  /** Rows since the smoothed level score last reached adaptGate. */
  quietRows: number;
  /** Rows seen since commissioning, and rows during which the reference adapted. */
  rows: number;
  adaptedRows: number;
}

/** What the adapter needs from a Baseline. */
export interface AdaptableBaseline extends ScoreStats {
  transform: SiteTransform;
  transformParams: TransformParams;
  adaptation?: AdaptationState;
}

/**
 * The first adaptation parameter out of range, as the field and what it must be (null when all
 * are valid): shared by the baseline restore (which reports it under `baseline.params`) and the
 * adapter.
 */
export function adaptParamProblem(
  p: ScoreStats['params'],
): { field: 'adaptRows' | 'adaptGate' | 'adaptHoldRows'; expected: string } | null {
  if (!(typeof p.adaptRows === 'number' && p.adaptRows >= 0 && Number.isFinite(p.adaptRows)))
    return { field: 'adaptRows', expected: 'a finite number >= 0' };
  if (!(typeof p.adaptGate === 'number' && p.adaptGate > 0 && p.adaptGate <= 1))
    return { field: 'adaptGate', expected: 'a number in (0, 1]' };
  if (!(typeof p.adaptHoldRows === 'number' && p.adaptHoldRows >= 0))
    return { field: 'adaptHoldRows', expected: 'a number >= 0' };
  return null;
}

export function initialAdaptation(t: SiteTransform): AdaptationState {
  return { center: t.center.slice(), gate: null, frozen: false, quietRows: 0, rows: 0, adaptedRows: 0 };
}

/** Per-channel weight of the adaptation rate (0: keeps the commissioning reference). */
export function adaptationWeights(t: SiteTransform, p: TransformParams): number[] {
  const floor = 2 / p.slownessWindow;
  const span = p.slowThreshold - floor;
  return t.slowness.map((s, c) => {
    if (t.slow[c] || !(span > 0)) return 0;
    return Math.sqrt(Math.min(1, Math.max(0, (s - floor) / span)));
  });
}

export class SiteAdapter {
  private readonly s: AdaptationState;
  private readonly weights: number[];
  private readonly channels: number;
  private readonly transform: SiteTransform;

  constructor(
    private readonly b: AdaptableBaseline,
    private readonly hop: number,
  ) {
    if (!Number.isInteger(hop) || hop < 1)
      throw new ScoreError(`hop: expected a positive integer but received ${hop}`, 'ANOMALY_PARAM');
    const bad = adaptParamProblem(b.params);
    if (bad)
      throw new ScoreError(
        `${bad.field}: expected ${bad.expected} but received ${b.params[bad.field]}`,
        'ANOMALY_PARAM',
      );
    this.channels = b.transform.center.length;
    const st = b.adaptation ?? initialAdaptation(b.transform);
    this.s = { ...st, center: st.center.slice() };
    this.weights = adaptationWeights(b.transform, b.transformParams);
    this.transform = { ...b.transform, center: this.s.center };
  }

  get enabled(): boolean {
    return this.b.params.adaptRows > 0;
  }

  /** True while a level alarm holds the reference (until adaptHoldRows quiet rows). */
  get frozen(): boolean {
    return this.s.frozen;
  }

  /** Rows seen since commissioning, and rows during which the reference adapted. */
  get rows(): number {
    return this.s.rows;
  }
  get adaptedRows(): number {
    return this.s.adaptedRows;
  }

  /** A copy of the adapted state (what the baseline persists). */
  get state(): AdaptationState {
    return { ...this.s, center: this.s.center.slice() };
  }

  /**
   * The model input for the next raw window of the stream (windowLength x channels, time-major,
   * hop rows after the previous one), transformed with the current reference; then the reference
   * moves (or not) for the windows that follow.
   */
  next(raw: ArrayLike<number>): Float32Array {
    const u = applySiteTransform(this.transform, raw, this.channels);
    if (!this.enabled) return u;
    const p = this.b.params;
    const level = levelScore(this.b, u);
    const s = this.s;
    s.gate = s.gate === null ? level : p.ewmaAlpha * level + (1 - p.ewmaAlpha) * s.gate;
    s.rows += this.hop;
    if (s.gate > 1) s.frozen = true;
    s.quietRows = s.gate < p.adaptGate ? s.quietRows + this.hop : 0;
    if (s.frozen && s.quietRows >= p.adaptHoldRows) s.frozen = false;
    if (s.frozen || !(s.gate < p.adaptGate)) return u;
    const rows = raw.length / this.channels;
    const fresh = Math.min(this.hop, rows);
    const rate = 1 - Math.exp(-this.hop / p.adaptRows);
    for (let c = 0; c < this.channels; c++) {
      const w = this.weights[c];
      if (w === 0) continue;
      let m = 0;
      for (let r = rows - fresh; r < rows; r++) m += raw[r * this.channels + c];
      m /= fresh;
      s.center[c] += w * rate * (m - s.center[c]);
    }
    s.adaptedRows += this.hop;
    return u;
  }
}
