// One asset's anomaly side: learn the site baseline (agent/diagnosis/baseline.ts) over the first
// `baselineWindows` windows after commissioning, persist it to <dataDir>/baselines/<asset>.json
// (atomic write, restored at start, relearned for another model version or channel set), then
// score every window (agent/diagnosis/anomaly-score.ts), smoothed by the baseline's EWMA. The
// smoothed score is in units of the alarm level: the event tracker's threshold is 1.
//
// Two kinds of model:
//   - with a site input transform (manifest modelMetadata "vigil.input_transform" kind
//     "site-standardize", e.g. pump-skab): the model only understands standardized windows, so
//     nothing is inferred while learning; finish() fits the transform and runs the model on the
//     learned windows; afterwards every window is transformed before inference (prepare()).
//   - without (e.g. rotating-vib): windows are inferred raw (the diagnosis needs that); while
//     learning, the heads of those inferences are kept and handed to finish() in window order,
//     so learning costs no extra inference. The site transform then only feeds the level
//     statistic of the score.
// Either way the site transform's level reference follows slow drift while the data look normal
// (SiteAdapter, agent/diagnosis/baseline-adaptation.ts, when the scoring parameters enable it):
// the adapted state is persisted with the baseline every ADAPT_PERSIST_TIME_CONSTANTS time
// constants of stream rows, so a restart resumes from a recent reference.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import path from 'node:path';
import { BaselineLearner, restoreBaseline, serializeBaseline, type Baseline } from '../diagnosis/baseline.js';
import { SiteAdapter } from '../diagnosis/baseline-adaptation.js';
import {
  EwmaSmoother,
  scoreWindow,
  type ScoreHeads,
  type ScoringParams,
  type TransformParams,
} from '../diagnosis/anomaly-score.js';
import type { InferenceOutputs } from '../inference/backend.js';
import type { Logger } from '../log/logger.js';
import type { Manifest } from '../model/manifest-types.js';

/** The adapted reference is persisted every this many adaptRows of stream rows. */
export const ADAPT_PERSIST_TIME_CONSTANTS = 10;

export type MonitorState = 'learning' | 'fitting' | 'ready' | 'failed';

export interface AnomalyMonitorOptions {
  assetId: string;
  modelId: string;
  manifest: Manifest;
  /** Windows between window starts as assembled (the asset's hop). */
  hop: number;
  baselineWindows: number;
  /** Directory of persisted baselines; null: keep in memory only. */
  dir: string | null;
  /** Runs the model on a prepared window (used by finish() for input-transform models). */
  run(input: Float32Array): Promise<InferenceOutputs>;
  log: Logger;
}

export interface WindowAnomaly {
  score: number;
  threshold: number;
  channels: { name: string; contribution: number }[];
}

/** Scoring parameters: the bundle's own (modelMetadata "vigil.scoring"), else the defaults. */
export function scoringParams(m: Manifest): Partial<ScoringParams> {
  const own = m.modelMetadata?.['vigil.scoring'] as Partial<ScoringParams> | undefined;
  return own && typeof own === 'object' ? own : {};
}

export function transformParams(m: Manifest): Partial<TransformParams> {
  const t = m.modelMetadata?.['vigil.input_transform'] as
    (Partial<TransformParams> & { kind?: string }) | undefined;
  if (!t || typeof t !== 'object') return {};
  const out: Partial<TransformParams> = {};
  if (typeof t.slownessWindow === 'number') out.slownessWindow = t.slownessWindow;
  if (typeof t.slowThreshold === 'number') out.slowThreshold = t.slowThreshold;
  if (typeof t.clip === 'number') out.clip = t.clip;
  return out;
}

/** True when the bundle's model expects site-standardized windows. */
export function needsSiteTransform(m: Manifest): boolean {
  const t = m.modelMetadata?.['vigil.input_transform'] as { kind?: string } | undefined;
  return t?.kind === 'site-standardize';
}

export class AnomalyMonitor {
  readonly transformInput: boolean;
  private state_: MonitorState = 'learning';
  private learner: BaselineLearner;
  private baseline: Baseline | null = null;
  private readonly heads: ScoreHeads[] = [];
  private smoother: EwmaSmoother | null = null;
  private adapter: SiteAdapter | null = null;
  private persistedAtRows = 0;
  private readonly file: string | null;
  private readyWaiters: (() => void)[] = [];

  constructor(private readonly o: AnomalyMonitorOptions) {
    this.transformInput = needsSiteTransform(o.manifest);
    this.file = o.dir ? path.join(o.dir, `${o.assetId}.json`) : null;
    this.learner = this.newLearner();
    const restored = this.restore();
    if (restored) this.ready(restored);
  }

  get state(): MonitorState {
    return this.state_;
  }

  get learning(): boolean {
    return this.state_ !== 'ready';
  }

  /** True while finish() runs: an input-transform model's windows must wait (see whenSettled). */
  get fitting(): boolean {
    return this.state_ === 'fitting';
  }

  /** Resolves when the current fit ends (ready, or back to learning after a failed fit). */
  whenSettled(): Promise<void> {
    if (this.state_ !== 'fitting') return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  get learnedWindows(): number {
    return this.baseline ? this.baseline.windows : this.learner.learnedWindows;
  }

  /**
   * The model input for a raw window, or null when the window must not be inferred (an
   * input-transform model still learning: the window went to the learner).
   */
  prepare(raw: Float32Array): Float32Array | null {
    if (!this.transformInput) return raw;
    if (this.baseline) return this.adapt(raw);
    // While fitting, the caller holds the window until whenSettled() (it is not learned twice).
    if (this.state_ === 'learning' && this.learner.addWindow(raw) === 'full')
      void this.finish((u) => this.o.run(u));
    return null;
  }

  /** After inference of `input` (prepared from `raw`): learn or score. */
  observe(raw: Float32Array, input: Float32Array, out: InferenceOutputs): WindowAnomaly | null {
    if (!this.baseline) {
      if (this.transformInput || this.state_ !== 'learning') return null;
      this.heads.push({ embedding: out.embedding, channelError: out.channelError });
      if (this.learner.addWindow(raw) === 'full') {
        // finish() calls run once per learned window, in window order: hand back their heads.
        let i = 0;
        void this.finish(async () => this.heads[i++]);
      }
      return null;
    }
    const u = this.transformInput ? input : this.adapt(raw);
    const s = scoreWindow(
      this.baseline,
      u,
      { embedding: out.embedding, channelError: out.channelError },
      this.baseline.channels,
    );
    const smoothed = (this.smoother as EwmaSmoother).push(s.score);
    return { score: smoothed, threshold: 1, channels: s.channels };
  }

  /** The site-transformed window (current reference), advancing the drift adaptation. */
  private adapt(raw: Float32Array): Float32Array {
    const a = this.adapter as SiteAdapter;
    const wasFrozen = a.frozen;
    const u = a.next(raw);
    const b = this.baseline as Baseline;
    const rows = a.rows;
    if (a.frozen !== wasFrozen)
      this.o.log.info(
        { asset: this.o.assetId, rows, adaptedRows: a.adaptedRows },
        a.frozen ? 'drift adaptation frozen (level alarm)' : 'drift adaptation resumed',
      );
    if (a.enabled && rows - this.persistedAtRows >= ADAPT_PERSIST_TIME_CONSTANTS * b.params.adaptRows) {
      this.persistedAtRows = rows;
      this.persist({ ...b, adaptation: a.state });
    }
    return u;
  }

  /** The drift adaptation's state (null before the baseline is ready). */
  get adaptation(): SiteAdapter['state'] | null {
    return this.adapter ? this.adapter.state : null;
  }

  private async finish(run: (u: Float32Array) => Promise<ScoreHeads>): Promise<void> {
    this.state_ = 'fitting';
    try {
      const b = await this.learner.finish(run);
      this.heads.length = 0;
      this.persist(b);
      this.ready(b);
      this.o.log.info(
        { asset: this.o.assetId, windows: b.windows, rows: b.rows, thresholds: b.thresholds },
        'baseline learned',
      );
    } catch (err) {
      // e.g. a singular covariance from constant data: relearn from fresh windows.
      this.o.log.warn(
        { asset: this.o.assetId, err: (err as Error).message },
        'baseline fit failed: learning again',
      );
      this.heads.length = 0;
      this.learner = this.newLearner();
      this.state_ = 'learning';
    }
    for (const w of this.readyWaiters.splice(0)) w();
  }

  private ready(b: Baseline): void {
    this.baseline = b;
    this.smoother = new EwmaSmoother(b.params.ewmaAlpha);
    this.adapter = new SiteAdapter(b, this.o.hop);
    this.persistedAtRows = this.adapter.state.rows;
    this.state_ = 'ready';
  }

  private newLearner(): BaselineLearner {
    const m = this.o.manifest;
    return new BaselineLearner({
      model: this.o.modelId,
      modelVersion: m.version,
      channels: [...m.input.channels],
      windowLength: m.input.windowLength,
      hop: this.o.hop,
      windows: Math.max(2, this.o.baselineWindows),
      scoring: scoringParams(m),
      transform: transformParams(m),
    });
  }

  private restore(): Baseline | null {
    if (!this.file) return null;
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch {
      return null; // no baseline yet: learn one
    }
    try {
      const b = restoreBaseline(text, scoringParams(this.o.manifest));
      const m = this.o.manifest;
      if (
        b.model !== this.o.modelId ||
        b.modelVersion !== m.version ||
        b.channels.join(',') !== m.input.channels.join(',')
      ) {
        this.o.log.info(
          { asset: this.o.assetId, baseline: `${b.model}@${b.modelVersion}` },
          'baseline is for another model: learning again',
        );
        return null;
      }
      this.o.log.info({ asset: this.o.assetId, windows: b.windows }, 'baseline restored');
      return b;
    } catch (err) {
      this.o.log.warn(
        { asset: this.o.assetId, file: this.file, err: (err as Error).message },
        'baseline unreadable: learning again',
      );
      return null;
    }
  }

  private persist(b: Baseline): void {
    if (!this.file) return;
    try {
      // write, fsync, rename: a power cut leaves the old baseline or the new one, never half.
      const tmp = `${this.file}.tmp`;
      const fd = openSync(tmp, 'w');
      try {
        writeSync(fd, serializeBaseline(b));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, this.file);
    } catch (err) {
      this.o.log.warn(
        { asset: this.o.assetId, err: (err as Error).message },
        'cannot persist the baseline (kept in memory)',
      );
    }
  }
}
