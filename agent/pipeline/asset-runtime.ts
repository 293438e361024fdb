// One asset (an id resolved from a topic's captures) in the running agent: its window assembler,
// debounced diagnosis with heartbeat, and anomaly tracking against its on-site baseline.
// Pure logic with injected publish/clock: unit tests drive it without a broker or a model.
import type { AssetConfig } from '../config/types.js';
import { AnomalyTracker } from '../diagnosis/anomaly-events.js';
import { HeartbeatTimer, LabelDebouncer } from '../diagnosis/debounce.js';
import type { InferenceOutputs } from '../inference/backend.js';
import { WindowAssembler, type AssembledWindow } from '../ingest/window-assembler.js';
import type { AssetHealth } from '../reports/health.js';
import type { AnomalyInput } from '../reports/anomaly.js';
import type { DiagnosisInput } from '../reports/diagnosis.js';
import type { ModelRuntime } from './model-runtime.js';

/** The anomaly side as the asset sees it (AnomalyMonitor; a fake in unit tests). */
export interface AnomalyScorer {
  readonly learning: boolean;
  readonly learnedWindows: number;
  /** The model input for a raw window, or null when the window must not be inferred now. */
  prepare(raw: Float32Array): Float32Array | null;
  /** True while the baseline is being fitted: windows are held until whenSettled(). */
  readonly fitting: boolean;
  whenSettled(): Promise<void>;
  /** Learns (returns null) until the baseline is complete, then scores the window. */
  observe(
    raw: Float32Array,
    input: Float32Array,
    out: InferenceOutputs,
  ): { score: number; threshold: number; channels: { name: string; contribution: number }[] } | null;
}

export interface AssetSinks {
  diagnosis(d: DiagnosisInput): void;
  error(code: string, message: string): void;
}

const MAX_HELD = 4096;

export class AssetRuntime {
  readonly assembler: WindowAssembler;
  private readonly debouncer: LabelDebouncer;
  private readonly heartbeat: HeartbeatTimer;
  private tracker: AnomalyTracker | null = null;
  private eventSeq: number | undefined;
  windows = 0;
  diagnoses = 0;
  dropped = 0;
  private held: AssembledWindow[] = [];
  /** Windows that went to the baseline learner only (input-transform model still learning). */
  learningOnly = 0;
  lastScore: number | null = null;
  private lastPublishedLabel: string | null = null;

  constructor(
    readonly id: string,
    readonly config: AssetConfig,
    readonly model: ModelRuntime,
    private readonly scorer: AnomalyScorer | null,
    private readonly sinks: AssetSinks,
    private readonly now: () => number,
    /** Returns the seq the anomaly message got (open events are referred to by it). */
    private readonly publishAnomaly: (a: AnomalyInput) => number,
  ) {
    const inp = model.manifest.input;
    this.assembler = new WindowAssembler(
      id,
      {
        sampleRateHz: inp.sampleRateHz,
        windowLength: inp.windowLength,
        channels: inp.channels,
        hop: config.hop ?? inp.hop ?? inp.windowLength,
      },
      { clock: now },
    );
    this.debouncer = new LabelDebouncer(config.debounce);
    this.heartbeat = new HeartbeatTimer({ heartbeatSec: config.heartbeatSec, clock: now });
  }

  /** Queue a completed window for inference. */
  enqueue(window: AssembledWindow): void {
    if (this.held.length > 0 || (this.scorer?.fitting ?? false)) {
      this.hold(window);
      return;
    }
    const input = this.scorer ? this.scorer.prepare(window.samples) : window.samples;
    if (input === null) {
      if (this.scorer?.fitting)
        this.hold(window); // this window completed the baseline: score it after the fit
      else this.learningOnly++;
      return;
    }
    this.model.queue.push({
      window,
      input,
      enqueuedAt: this.now(),
      onResult: (out) => this.onResult(window, out, input),
      onError: (err) =>
        this.sinks.error(
          (err as { code?: string }).code ?? 'ENGINE_RUN_FAILED',
          `failed to infer window of ${this.id}: ${err.message}`,
        ),
      onDrop: () => {
        this.dropped++;
      },
    });
  }

  /**
   * Windows that arrive while an input-transform model's baseline is fitted wait here (a fast
   * replay would otherwise skip them), bounded: beyond MAX_HELD the oldest are dropped, counted.
   */
  private hold(window: AssembledWindow): void {
    if (this.held.length >= MAX_HELD) {
      this.held.shift();
      this.dropped++;
    }
    this.held.push(window);
    if (this.held.length === 1) {
      void this.scorer?.whenSettled().then(() => {
        const ws = this.held.splice(0);
        for (const w of ws) this.enqueue(w);
      });
    }
  }

  onResult(window: AssembledWindow, out: InferenceOutputs, input: Float32Array = window.samples): void {
    this.windows++;
    const m = this.model.manifest;
    if (out.probs.length !== m.labels.length || !allFinite(out.probs)) {
      this.sinks.error(
        'ENGINE_OUTPUT_INVALID',
        `model ${this.model.id} returned ${out.probs.length} probabilities (expected ${m.labels.length}, all finite) for ${this.id}`,
      );
      return;
    }
    // An anomaly-only model (task "anomaly") has no classes worth publishing as a diagnosis.
    if (m.task !== 'anomaly') this.diagnose(window, out);
    if (this.scorer) this.score(window, out, input);
  }

  private diagnose(window: AssembledWindow, out: InferenceOutputs): void {
    const m = this.model.manifest;
    let best = 0;
    for (let i = 1; i < out.probs.length; i++) if (out.probs[i] > out.probs[best]) best = i;
    const { label, changed } = this.debouncer.update(m.labels[best]);
    const reason = this.heartbeat.shouldPublish(label !== undefined, changed);
    if (!reason || label === undefined) return;
    const period = 1000 / m.input.sampleRateHz;
    this.sinks.diagnosis({
      asset: this.id,
      label,
      probs: out.probs,
      labels: m.labels,
      window: { start: window.startMs, end: window.endMs + period, samples: m.input.windowLength },
      model: { id: this.model.id, version: m.version, backend: this.model.backend.kind },
      inferenceUs: out.inferenceUs,
      heartbeat: reason === 'heartbeat' && !changed,
      previous: this.lastPublishedLabel,
    });
    this.heartbeat.published();
    this.lastPublishedLabel = label;
    this.diagnoses++;
  }

  private score(window: AssembledWindow, out: InferenceOutputs, input: Float32Array): void {
    const s = this.scorer?.observe(window.samples, input, out);
    if (!s) return;
    this.lastScore = s.score;
    if (!Number.isFinite(s.score)) {
      this.sinks.error('ANOMALY_SCORE_INVALID', `anomaly score of ${this.id} is ${s.score}`);
      return;
    }
    this.tracker ??= new AnomalyTracker({
      threshold: s.threshold,
      openWindows: this.config.anomaly.openWindows,
      closeWindows: this.config.anomaly.closeWindows,
      closeRatio: this.config.anomaly.closeRatio,
    });
    const ev = this.tracker.update({ score: s.score, timeMs: window.endMs, channels: s.channels });
    if (!ev) return;
    const seq = this.publishAnomaly({
      asset: this.id,
      state: ev.state,
      event: ev.state === 'open' ? undefined : this.eventSeq,
      score: ev.score,
      threshold: ev.threshold,
      since: ev.sinceMs,
      peakScore: ev.peakScore,
      windowEnd: window.endMs,
      channels: ev.channels,
    });
    if (ev.state === 'open') this.eventSeq = seq;
    if (ev.state === 'close') this.eventSeq = undefined;
  }

  health(): AssetHealth {
    const c = this.assembler.counters();
    let state: AssetHealth['anomaly']['state'] = 'disabled';
    if (this.scorer) state = this.scorer.learning ? 'learning' : this.tracker?.isOpen ? 'open' : 'watching';
    return {
      model: this.model.id,
      windows: this.windows,
      diagnoses: this.diagnoses,
      label: this.debouncer.current ?? null,
      anomaly: {
        state,
        baselineWindows: this.scorer?.learnedWindows ?? 0,
        score: this.lastScore === null ? null : Math.round(this.lastScore * 1e4) / 1e4,
      },
      counters: { ...c, droppedWindows: this.dropped, learningOnlyWindows: this.learningOnly },
    };
  }
}

function allFinite(a: ArrayLike<number>): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return false;
  return true;
}
