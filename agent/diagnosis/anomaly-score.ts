// Anomaly scoring of one window against a site baseline (pure: no I/O, no clock).
//
// A window reaches the model through the site input transform learned at commissioning
// (applySiteTransform: per-channel standardization against the baseline rows; "slow" channels,
// whose level drifts on the baseline's own time scale, are centred per window instead). The score
// has three components, each divided by its own threshold (a quantile of the component over the
// baseline windows times a margin), so 1.0 is the alarm level of every component:
//   level  max over non-slow channels c of ((m[c] - mu[c]) / sd[c])^2, m[c] = mean of the last
//          levelWindow rows of u (raw channel statistics: sustained level shifts)
//   recon  max over c of max(0, (e[c] - mu[c]) / sd[c])^2, e = the model's channel_error head
//          (dynamics the model cannot reconstruct as normal)
//   t2     Hotelling T^2 of the model's embedding with a shrunk covariance
//          ((1 - l) S + l tr(S)/d I)
// The window score is the max of the components; EwmaSmoother smooths it causally and the row is
// anomalous above 1. docs/anomaly.md derives the choices; scripts/train/skab_score.py mirrors
// this file and must give the same numbers.

export type ScoreComponent = 'level' | 'recon' | 't2';

export interface ScoringParams {
  /** Rows at the end of the window averaged by the level statistic. */
  levelWindow: number;
  /** Quantile of each component's baseline scores that, times margin, is its threshold. */
  quantile: number;
  margin: number;
  /** EWMA weight of the newest window score (1 = no smoothing). */
  ewmaAlpha: number;
  /** Covariance shrinkage towards a scaled identity, 0..1. */
  shrinkage: number;
  /** Floor of the level statistic's spread, in units of the channel's baseline std. */
  sdFloor: number;
  components: ScoreComponent[];
  /**
   * Drift adaptation of the site transform's level reference (baseline-adaptation.ts): time
   * constant in rows of a channel that wanders at the slow threshold; 0 turns adaptation off.
   */
  adaptRows: number;
  /** The reference adapts only while the smoothed level score is below this (alarm level = 1). */
  adaptGate: number;
  /** After a level alarm, adaptation resumes once the smoothed level score has stayed below adaptGate this many rows. */
  adaptHoldRows: number;
}

export interface TransformParams {
  /** Rows per moving mean when measuring a channel's slowness. */
  slownessWindow: number;
  /** A channel is slow when var(moving means) / var(rows) reaches this. */
  slowThreshold: number;
  /** Transformed values are clamped to +-clip. */
  clip: number;
}

// Same values as scripts/train/skab_score.py SCORING_DEFAULTS and skab_data.py TRANSFORM_DEFAULTS;
// models/pump-skab/training.json records the ones the model was evaluated with.
export const DEFAULT_SCORING: ScoringParams = {
  levelWindow: 12,
  quantile: 0.99,
  margin: 3,
  ewmaAlpha: 0.3,
  shrinkage: 0.1,
  sdFloor: 0.05,
  components: ['level', 'recon', 't2'],
  adaptRows: 0,
  adaptGate: 0.7,
  adaptHoldRows: 60,
};

export const DEFAULT_TRANSFORM: TransformParams = { slownessWindow: 32, slowThreshold: 0.4, clip: 10 };

/** The site input transform (fitted by baseline.ts on the commissioning rows). */
export interface SiteTransform {
  center: number[];
  scale: number[];
  slowness: number[];
  slow: boolean[];
  clip: number;
}

/** Heads of the model needed for scoring (a subset of InferenceOutputs). */
export interface ScoreHeads {
  embedding: Float32Array;
  channelError: Float32Array;
}

/** The learned statistics the score needs (the Baseline's scoring part). */
export interface ScoreStats {
  params: ScoringParams;
  slow: boolean[];
  levelMean: number[];
  levelSd: number[];
  reconMean: number[];
  reconSd: number[];
  embMean: number[];
  /** Lower-triangular Cholesky factor of the shrunk embedding covariance, row-major d x d. */
  embChol: number[];
  /** Threshold of each component (quantile * margin of its baseline scores). */
  thresholds: Record<ScoreComponent, number>;
}

export interface ComponentScores {
  level: number;
  recon: number;
  t2: number;
  /** Per-channel terms of level and recon (0 for slow channels / no recon head). */
  levelByChannel: number[];
  reconByChannel: number[];
}

export interface WindowScore {
  /** max over enabled components of component / threshold: 1.0 is the alarm level. */
  score: number;
  components: Record<ScoreComponent, number>;
  /** Per channel share of the channel-attributable evidence, summing to 1. */
  channels: { name: string; contribution: number }[];
}

export class ScoreError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------------
// Arithmetic

export function mean(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i];
  return v.length > 0 ? s / v.length : 0;
}

/** Population standard deviation (divides by n). */
export function stdPop(v: ArrayLike<number>): number {
  const m = mean(v);
  let s = 0;
  for (let i = 0; i < v.length; i++) s += (v[i] - m) ** 2;
  return v.length > 0 ? Math.sqrt(s / v.length) : 0;
}

/** Quantile by linear interpolation between order statistics (numpy's default, type 7). */
export function quantile(values: ArrayLike<number>, q: number): number {
  if (values.length === 0)
    throw new ScoreError(
      'failed to compute quantile of an empty sample: expected at least 1 value',
      'ANOMALY_EMPTY',
    );
  if (!(q >= 0 && q <= 1))
    throw new ScoreError(`failed to compute quantile with q=${q}: expected 0..1`, 'ANOMALY_PARAM');
  const s = Array.from(values).sort((a, b) => a - b);
  const h = (s.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, s.length - 1);
  return s[lo] + (h - lo) * (s[hi] - s[lo]);
}

/** Column means of n row vectors of length d. */
export function meanVector(rows: ArrayLike<number>[]): number[] {
  const d = rows[0].length;
  const m = new Array<number>(d).fill(0);
  for (const r of rows) for (let j = 0; j < d; j++) m[j] += r[j];
  return m.map((x) => x / rows.length);
}

/** Population covariance (divides by n), row-major d x d. */
export function covariance(rows: ArrayLike<number>[], m: number[]): number[] {
  const d = m.length;
  const c = new Array<number>(d * d).fill(0);
  for (const r of rows) {
    for (let i = 0; i < d; i++) {
      const a = r[i] - m[i];
      for (let j = 0; j <= i; j++) c[i * d + j] += a * (r[j] - m[j]);
    }
  }
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      c[i * d + j] /= rows.length;
      c[j * d + i] = c[i * d + j];
    }
  }
  return c;
}

/** (1 - l) S + l * tr(S)/d * I: keeps T^2 well conditioned with few, correlated windows. */
export function shrinkCovariance(s: number[], d: number, l: number): number[] {
  let tr = 0;
  for (let i = 0; i < d; i++) tr += s[i * d + i];
  const target = tr / d;
  return s.map((v, k) => (1 - l) * v + (k % (d + 1) === 0 ? l * target : 0));
}

/** Lower-triangular L with L L^T = a (a symmetric positive definite, row-major d x d). */
export function cholesky(a: number[], d: number): number[] {
  const l = new Array<number>(d * d).fill(0);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * d + j];
      for (let k = 0; k < j; k++) s -= l[i * d + k] * l[j * d + k];
      if (i === j) {
        if (!(s > 0))
          throw new ScoreError(
            `failed to factor the embedding covariance: pivot ${i} is ${s}, expected > 0`,
            'ANOMALY_SINGULAR',
          );
        l[i * d + i] = Math.sqrt(s);
      } else {
        l[i * d + j] = s / l[j * d + j];
      }
    }
  }
  return l;
}

/** (x - m)^T A^-1 (x - m) with A = L L^T: |L^-1 (x - m)|^2 by forward substitution. */
export function mahalanobis2(x: ArrayLike<number>, m: number[], chol: number[]): number {
  const d = m.length;
  const y = new Array<number>(d);
  let s = 0;
  for (let i = 0; i < d; i++) {
    let v = x[i] - m[i];
    for (let k = 0; k < i; k++) v -= chol[i * d + k] * y[k];
    y[i] = v / chol[i * d + i];
    s += y[i] * y[i];
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// Input transform and window statistics

/** u[t][c] = clamp((x[t][c] - ref[c]) / scale[c], -clip, clip); ref is the window mean for slow channels. */
export function applySiteTransform(
  t: SiteTransform,
  window: ArrayLike<number>,
  channels = t.center.length,
): Float32Array {
  const rows = window.length / channels;
  if (!Number.isInteger(rows) || rows < 1) {
    throw new ScoreError(
      `failed to transform a window of ${window.length} values: expected a multiple of ${channels} channels`,
      'ANOMALY_SHAPE',
    );
  }
  const ref = t.center.slice();
  for (let c = 0; c < channels; c++) {
    if (!t.slow[c]) continue;
    let s = 0;
    for (let r = 0; r < rows; r++) s += window[r * channels + c];
    ref[c] = s / rows;
  }
  const u = new Float32Array(window.length);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < channels; c++) {
      const v = (window[r * channels + c] - ref[c]) / t.scale[c];
      u[r * channels + c] = Math.min(t.clip, Math.max(-t.clip, v));
    }
  }
  return u;
}

/** Per-channel mean of the last `rows` rows of a transformed window. */
export function levelStatistic(u: ArrayLike<number>, channels: number, rows: number): number[] {
  const total = u.length / channels;
  const k = Math.min(rows, total);
  const m = new Array<number>(channels).fill(0);
  for (let r = total - k; r < total; r++) for (let c = 0; c < channels; c++) m[c] += u[r * channels + c];
  return m.map((x) => x / k);
}

/** Per-channel squared level z-scores of a transformed window (0 on slow channels). */
function levelByChannel(st: Omit<ScoreStats, 'thresholds'>, u: ArrayLike<number>): number[] {
  const m = levelStatistic(u, st.levelMean.length, st.params.levelWindow);
  return m.map((x, c) => (st.slow[c] ? 0 : ((x - st.levelMean[c]) / st.levelSd[c]) ** 2));
}

/** The level component of a transformed window over its threshold (needs no model output). */
export function levelScore(st: ScoreStats, u: ArrayLike<number>): number {
  return Math.max(...levelByChannel(st, u)) / st.thresholds.level;
}

/** The unnormalized components of one window (also used on the baseline windows to set thresholds). */
export function componentScores(
  st: Omit<ScoreStats, 'thresholds'>,
  u: ArrayLike<number>,
  heads: ScoreHeads,
): ComponentScores {
  const channels = st.levelMean.length;
  const level = levelByChannel(st, u);
  const reconByChannel = new Array<number>(channels).fill(0);
  if (heads.channelError.length === channels && st.reconMean.length === channels) {
    for (let c = 0; c < channels; c++) {
      const z = (heads.channelError[c] - st.reconMean[c]) / st.reconSd[c];
      reconByChannel[c] = z > 0 ? z * z : 0;
    }
  }
  const t2 = st.embMean.length > 0 ? mahalanobis2(heads.embedding, st.embMean, st.embChol) : 0;
  return {
    level: Math.max(...level),
    recon: Math.max(...reconByChannel),
    t2,
    levelByChannel: level,
    reconByChannel,
  };
}

/** Score of one transformed window: components over their thresholds, and channel contributions. */
export function scoreWindow(
  st: ScoreStats,
  u: ArrayLike<number>,
  heads: ScoreHeads,
  channelNames: readonly string[],
): WindowScore {
  const cs = componentScores(st, u, heads);
  const on = new Set(st.params.components);
  const th = st.thresholds;
  const components = { level: cs.level / th.level, recon: cs.recon / th.recon, t2: cs.t2 / th.t2 };
  let score = 0;
  for (const k of on) score = Math.max(score, components[k]);
  return { score, components, channels: contributions(cs, st, on, channelNames) };
}

/**
 * Each channel's evidence is the larger of its level and recon terms over their thresholds; the
 * contributions are those shares of the total (equal shares when there is no evidence at all).
 * T^2 is not attributable to channels and does not enter.
 */
export function contributions(
  cs: ComponentScores,
  st: ScoreStats,
  on: ReadonlySet<ScoreComponent>,
  names: readonly string[],
): { name: string; contribution: number }[] {
  const n = cs.levelByChannel.length;
  const ev = cs.levelByChannel.map((l, c) =>
    Math.max(
      on.has('level') ? l / st.thresholds.level : 0,
      on.has('recon') ? cs.reconByChannel[c] / st.thresholds.recon : 0,
    ),
  );
  const total = ev.reduce((a, b) => a + b, 0);
  return ev.map((e, c) => ({ name: names[c] ?? `c${c}`, contribution: total > 0 ? e / total : 1 / n }));
}

/** Causal exponentially weighted moving average of the window score; starts at the first value. */
export class EwmaSmoother {
  private value: number | null = null;

  constructor(private readonly alpha: number) {
    if (!(alpha > 0 && alpha <= 1))
      throw new ScoreError(`ewmaAlpha: expected 0 < alpha <= 1 but received ${alpha}`, 'ANOMALY_PARAM');
  }

  push(score: number): number {
    this.value = this.value === null ? score : this.alpha * score + (1 - this.alpha) * this.value;
    return this.value;
  }

  get current(): number | null {
    return this.value;
  }

  reset(): void {
    this.value = null;
  }
}
