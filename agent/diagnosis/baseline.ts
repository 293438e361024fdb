// The on-site baseline: what normal looks like for this machine, learned after commissioning.
//
// Learning has two steps because the model sees site-standardized windows:
//   1. collect the raw rows of the first N windows (states: learning);
//   2. finish(): fit the site input transform on those rows, run the model on every collected
//      window (transformed), and fit the score statistics and thresholds on the outputs (ready).
// The result is plain JSON (the agent persists it and restores it at start). Pure apart from the
// injected model call; no I/O, no clock.
import {
  DEFAULT_SCORING,
  DEFAULT_TRANSFORM,
  ScoreError,
  applySiteTransform,
  cholesky,
  componentScores,
  covariance,
  levelStatistic,
  meanVector,
  quantile,
  shrinkCovariance,
  stdPop,
  type ScoreComponent,
  type ScoreHeads,
  type ScoreStats,
  type ScoringParams,
  type SiteTransform,
  type TransformParams,
} from './anomaly-score.js';
import { adaptParamProblem, type AdaptationState } from './baseline-adaptation.js';

/**
 * /3 adds the drift adaptation (params.adapt*, and the adapted state `adaptation`); a /2 file is
 * migrated on restore: its missing scoring parameters come from the caller (the bundle's), its
 * adaptation starts from the commissioning reference.
 */
export const BASELINE_FORMAT = 'vigil.baseline/3';
export const BASELINE_FORMAT_V2 = 'vigil.baseline/2';

export interface Baseline extends ScoreStats {
  format: typeof BASELINE_FORMAT;
  /** Model the baseline was learned with (a new model version needs a new baseline). */
  model: string;
  modelVersion: string;
  channels: string[];
  windowLength: number;
  rows: number;
  windows: number;
  transform: SiteTransform;
  transformParams: TransformParams;
  /** Drift adaptation state (absent: not adapted yet, the commissioning reference). */
  adaptation?: AdaptationState;
}

export type RunHeads = (u: Float32Array) => Promise<ScoreHeads>;

export interface BaselineLearnerOptions {
  model: string;
  modelVersion: string;
  channels: string[];
  windowLength: number;
  /** Samples between consecutive windows handed to addWindow (1: every row starts a window). */
  hop: number;
  /** Windows to learn from; the learner is full after this many. */
  windows: number;
  scoring?: Partial<ScoringParams>;
  transform?: Partial<TransformParams>;
}

// ---------------------------------------------------------------------------------------------
// Site transform

/** Mean of each run of w consecutive values (len - w + 1 of them). */
export function movingMeans(col: ArrayLike<number>, w: number): number[] {
  const out: number[] = [];
  let s = 0;
  for (let i = 0; i < col.length; i++) {
    s += col[i];
    if (i >= w) s -= col[i - w];
    if (i >= w - 1) out.push(s / w);
  }
  return out;
}

/**
 * Per channel: center = mean, scale = max(std, 1e-6 * max(1, |mean|)), slowness = var of the
 * slownessWindow-row moving means over var of the rows (0 for a constant channel), slow when
 * slowness >= slowThreshold. rows: [n][C].
 */
export function fitSiteTransform(
  rows: ArrayLike<number>[],
  p: TransformParams = DEFAULT_TRANSFORM,
): SiteTransform {
  const channels = rows.length > 0 ? rows[0].length : 0;
  return fitSiteTransformColumns(
    Array.from({ length: channels }, (_, c) => rows.map((r) => r[c])),
    rows.length,
    p,
  );
}

/** fitSiteTransform on columns (cols[c][row]): what the learner keeps, one number array per channel. */
export function fitSiteTransformColumns(
  cols: number[][],
  n: number,
  p: TransformParams = DEFAULT_TRANSFORM,
): SiteTransform {
  if (n < p.slownessWindow + 1) {
    throw new ScoreError(
      `failed to fit the site transform on ${n} rows: expected at least ${p.slownessWindow + 1}`,
      'ANOMALY_BASELINE_SHORT',
    );
  }
  const t: SiteTransform = { center: [], scale: [], slowness: [], slow: [], clip: p.clip };
  for (const col of cols) {
    const m = col.reduce((a, b) => a + b, 0) / col.length;
    const sd = stdPop(col);
    const v = sd * sd;
    const mm = movingMeans(col, p.slownessWindow);
    const vm = stdPop(mm) ** 2;
    const slowness = v > 0 ? vm / v : 0;
    t.center.push(m);
    t.scale.push(Math.max(sd, 1e-6 * Math.max(1, Math.abs(m))));
    t.slowness.push(slowness);
    t.slow.push(slowness >= p.slowThreshold);
  }
  return t;
}

// ---------------------------------------------------------------------------------------------
// Score statistics

/** Fit the score statistics on the baseline windows' transformed inputs and model heads. */
export function fitScoreStats(
  params: ScoringParams,
  slow: boolean[],
  us: Float32Array[],
  heads: ScoreHeads[],
): ScoreStats {
  const channels = slow.length;
  const n = us.length;
  if (n < 2)
    throw new ScoreError(
      `failed to fit the baseline on ${n} windows: expected at least 2`,
      'ANOMALY_BASELINE_SHORT',
    );
  const levels = us.map((u) => levelStatistic(u, channels, params.levelWindow));
  const levelMean = meanVector(levels);
  const levelSd = levelMean.map((_, c) => Math.max(stdPop(levels.map((l) => l[c])), params.sdFloor));
  const hasRecon = heads[0].channelError.length === channels;
  const reconMean = hasRecon ? meanVector(heads.map((h) => h.channelError)) : [];
  const reconSd = reconMean.map((m, c) =>
    Math.max(stdPop(heads.map((h) => h.channelError[c])), 1e-6 + 1e-3 * Math.abs(m)),
  );
  const d = heads[0].embedding.length;
  const embMean = d > 0 ? meanVector(heads.map((h) => h.embedding)) : [];
  const embChol =
    d > 0
      ? cholesky(
          shrinkCovariance(
            covariance(
              heads.map((h) => h.embedding),
              embMean,
            ),
            d,
            params.shrinkage,
          ),
          d,
        )
      : [];
  const partial = { params, slow, levelMean, levelSd, reconMean, reconSd, embMean, embChol };
  const comps = us.map((u, i) => componentScores(partial, u, heads[i]));
  const threshold = (k: ScoreComponent) =>
    Math.max(
      quantile(
        comps.map((c) => c[k]),
        params.quantile,
      ) * params.margin,
      1e-12,
    );
  return {
    ...partial,
    thresholds: { level: threshold('level'), recon: threshold('recon'), t2: threshold('t2') },
  };
}

// ---------------------------------------------------------------------------------------------
// Learning

export class BaselineLearner {
  // The transform's fitting rows, one plain number array per channel: at 8 kHz a baseline holds
  // ~10^6 rows, which as one small typed array each would cost tens of MB of object headers.
  private readonly cols: number[][];
  private rowCount = 0;
  private readonly windows: Float64Array[] = [];
  private readonly scoring: ScoringParams;
  private readonly transformParams: TransformParams;
  private readonly channels: number;

  constructor(private readonly o: BaselineLearnerOptions) {
    if (!Number.isInteger(o.hop) || o.hop < 1)
      throw new ScoreError(`hop: expected a positive integer but received ${o.hop}`, 'ANOMALY_PARAM');
    if (!Number.isInteger(o.windows) || o.windows < 2)
      throw new ScoreError(`windows: expected an integer >= 2 but received ${o.windows}`, 'ANOMALY_PARAM');
    this.scoring = { ...DEFAULT_SCORING, ...o.scoring };
    this.transformParams = { ...DEFAULT_TRANSFORM, ...o.transform };
    this.channels = o.channels.length;
    this.cols = Array.from({ length: this.channels }, () => []);
  }

  get state(): 'learning' | 'full' {
    return this.windows.length >= this.o.windows ? 'full' : 'learning';
  }

  get learnedWindows(): number {
    return this.windows.length;
  }

  /**
   * One raw window (windowLength x channels, time-major), in stream order and `hop` samples after
   * the previous one. Rows new to the learner (all of the first window, then the last min(hop, T))
   * join the transform's fitting rows. Returns the state after the window.
   */
  addWindow(window: ArrayLike<number>): 'learning' | 'full' {
    const t = this.o.windowLength;
    if (window.length !== t * this.channels) {
      throw new ScoreError(
        `failed to add a baseline window of ${window.length} values: expected ${t}x${this.channels}`,
        'ANOMALY_SHAPE',
      );
    }
    if (this.state === 'full') return 'full';
    const fresh = this.windows.length === 0 ? t : Math.min(this.o.hop, t);
    for (let r = t - fresh; r < t; r++)
      for (let c = 0; c < this.channels; c++) this.cols[c].push(window[r * this.channels + c]);
    this.rowCount += fresh;
    this.windows.push(Float64Array.from(window));
    return this.state;
  }

  /** Fit the transform, run the model on every collected window, fit the score statistics. */
  async finish(run: RunHeads): Promise<Baseline> {
    if (this.windows.length < 2)
      throw new ScoreError(
        `failed to finish the baseline with ${this.windows.length} windows: expected at least 2`,
        'ANOMALY_BASELINE_SHORT',
      );
    const transform = fitSiteTransformColumns(this.cols, this.rowCount, this.transformParams);
    const us = this.windows.map((w) => applySiteTransform(transform, w, this.channels));
    const heads: ScoreHeads[] = [];
    for (const u of us) heads.push(await run(u));
    const stats = fitScoreStats(this.scoring, transform.slow, us, heads);
    return {
      format: BASELINE_FORMAT,
      model: this.o.model,
      modelVersion: this.o.modelVersion,
      channels: [...this.o.channels],
      windowLength: this.o.windowLength,
      rows: this.rowCount,
      windows: this.windows.length,
      transform,
      transformParams: this.transformParams,
      ...stats,
    };
  }
}

// ---------------------------------------------------------------------------------------------
// Persistence

export function serializeBaseline(b: Baseline): string {
  return JSON.stringify(b);
}

/**
 * Parse and check a persisted baseline (throws ANOMALY_BASELINE_INVALID naming the field).
 * `scoring` fills the scoring parameters a vigil.baseline/2 file predates (adaptation); missing
 * ones fall back to DEFAULT_SCORING.
 */
export function restoreBaseline(text: string, scoring: Partial<ScoringParams> = {}): Baseline {
  let b: Baseline;
  try {
    b = JSON.parse(text) as Baseline;
  } catch (err) {
    throw new ScoreError(
      `failed to parse the baseline: ${(err as Error).message}`,
      'ANOMALY_BASELINE_INVALID',
    );
  }
  const bad = (field: string, expected: string, got: unknown): never => {
    throw new ScoreError(
      `baseline.${field}: expected ${expected} but received ${JSON.stringify(got)?.slice(0, 80)}`,
      'ANOMALY_BASELINE_INVALID',
    );
  };
  if (b === null || typeof b !== 'object') bad('', 'an object', b);
  if ((b.format as string) === BASELINE_FORMAT_V2) {
    if (!b.params || typeof b.params !== 'object') bad('params', 'scoring parameters', b.params);
    const fill = { ...DEFAULT_SCORING, ...scoring };
    b = {
      ...b,
      format: BASELINE_FORMAT,
      params: {
        ...b.params,
        adaptRows: b.params.adaptRows ?? fill.adaptRows,
        adaptGate: b.params.adaptGate ?? fill.adaptGate,
        adaptHoldRows: b.params.adaptHoldRows ?? fill.adaptHoldRows,
      },
      transformParams: { ...DEFAULT_TRANSFORM, ...b.transformParams },
    };
    delete b.adaptation;
  }
  if (b.format !== BASELINE_FORMAT)
    bad('format', `${JSON.stringify(BASELINE_FORMAT)} or ${JSON.stringify(BASELINE_FORMAT_V2)}`, b.format);
  if (!Array.isArray(b.channels) || b.channels.length === 0) bad('channels', 'a non-empty array', b.channels);
  const c = b.channels.length;
  const finiteArray = (v: unknown, len: number | null): boolean =>
    Array.isArray(v) &&
    (len === null || v.length === len) &&
    v.every((x) => typeof x === 'number' && Number.isFinite(x));
  const vec = (field: keyof Baseline, len: number | null) => {
    const v = b[field] as unknown;
    if (!finiteArray(v, len)) bad(field, `${len ?? 'an'} array of finite numbers`, v);
  };
  vec('levelMean', c);
  vec('levelSd', c);
  vec('embMean', null);
  vec('embChol', b.embMean.length ** 2);
  vec('reconMean', null);
  vec('reconSd', b.reconMean.length);
  if (!Array.isArray(b.slow) || b.slow.length !== c) bad('slow', `${c} booleans`, b.slow);
  const t = b.transform;
  if (
    !t ||
    !Array.isArray(t.center) ||
    t.center.length !== c ||
    !Array.isArray(t.scale) ||
    t.scale.length !== c ||
    !t.scale.every((s) => s > 0) ||
    !finiteArray(t.slowness, c)
  ) {
    bad('transform', `center/scale/slowness arrays of ${c} (scale > 0)`, t);
  }
  for (const k of ['level', 'recon', 't2'] as const) {
    if (!(typeof b.thresholds?.[k] === 'number' && b.thresholds[k] > 0))
      bad(`thresholds.${k}`, 'a positive number', b.thresholds?.[k]);
  }
  if (!b.params || !Array.isArray(b.params.components)) bad('params', 'scoring parameters', b.params);
  const adaptBad = adaptParamProblem(b.params);
  if (adaptBad) bad(`params.${adaptBad.field}`, adaptBad.expected, b.params[adaptBad.field]);
  const tp = b.transformParams;
  if (!tp || !(tp.slownessWindow > 0) || !(tp.slowThreshold > 0))
    bad('transformParams', 'slownessWindow and slowThreshold > 0', tp);
  const a = b.adaptation;
  if (a !== undefined) {
    if (!a || typeof a !== 'object') bad('adaptation', 'an object', a);
    if (!finiteArray(a.center, c)) bad('adaptation.center', `${c} finite numbers`, a.center);
    if (!(a.gate === null || (typeof a.gate === 'number' && Number.isFinite(a.gate))))
      bad('adaptation.gate', 'null or a finite number', a.gate);
    if (typeof a.frozen !== 'boolean') bad('adaptation.frozen', 'a boolean', a.frozen);
    for (const k of ['quietRows', 'rows', 'adaptedRows'] as const)
      if (!(typeof a[k] === 'number' && a[k] >= 0)) bad(`adaptation.${k}`, 'a number >= 0', a[k]);
  }
  return b;
}
