// Anomaly events with hysteresis (pure): turns one anomaly score per window into open / update /
// close events instead of per-window messages (anomaly/<assetId> in the MQTT contract).
//
//   const tracker = new AnomalyTracker({ threshold: 4.2, openWindows: 3, closeWindows: 5, closeRatio: 0.8 });
//   const ev = tracker.update({ score, timeMs: window.endMs, channels }); // AnomalyEvent | undefined
//
// - open:   score > threshold for openWindows consecutive windows. `since` is the time of the
//           first window of that run; peakScore the highest score of the run.
// - update: while open, at most one per window, when the score beats the peak last reported by
//           more than peakStep (relative), or updateEveryWindows windows after the last event.
// - close:  score < closeRatio * threshold for closeWindows consecutive windows (any window not
//           below the close level restarts that count).
// Every event carries the current score, peakScore, since and the window's per-channel
// contributions (from the scorer), sorted by contribution, largest first.

export interface AnomalyOptions {
  threshold: number;
  openWindows: number;
  closeWindows: number;
  /** Close level as a fraction of threshold, 0 < closeRatio <= 1. */
  closeRatio: number;
  /** Periodic update while open, in windows. Default 10. */
  updateEveryWindows?: number;
  /** Relative peak increase that triggers an update. Default 0.1 (10 %). */
  peakStep?: number;
}

export interface ChannelContribution {
  name: string;
  contribution: number;
}

export interface AnomalyWindowScore {
  score: number;
  /** Time of the window (the caller's choice; the agent passes the window's end), ms. */
  timeMs: number;
  channels: readonly ChannelContribution[];
}

export type AnomalyState = 'open' | 'update' | 'close';

export interface AnomalyEvent {
  state: AnomalyState;
  score: number;
  threshold: number;
  sinceMs: number;
  peakScore: number;
  channels: ChannelContribution[];
}

export class AnomalyTracker {
  private readonly threshold: number;
  private readonly closeLevel: number;
  private readonly openWindows: number;
  private readonly closeWindows: number;
  private readonly updateEvery: number;
  private readonly peakStep: number;
  private open = false;
  private run = 0; // consecutive windows above threshold while closed
  private runSinceMs = 0;
  private runPeak = -Infinity;
  private below = 0; // consecutive windows below the close level while open
  private sinceMs = 0;
  private peak = -Infinity;
  private reportedPeak = -Infinity;
  private windowsSinceEvent = 0;

  constructor(opts: AnomalyOptions) {
    if (!Number.isFinite(opts.threshold)) throw anomalyError('threshold', 'a finite number', opts.threshold);
    if (!Number.isInteger(opts.openWindows) || opts.openWindows < 1) {
      throw anomalyError('openWindows', 'an integer >= 1', opts.openWindows);
    }
    if (!Number.isInteger(opts.closeWindows) || opts.closeWindows < 1) {
      throw anomalyError('closeWindows', 'an integer >= 1', opts.closeWindows);
    }
    if (!(opts.closeRatio > 0 && opts.closeRatio <= 1))
      throw anomalyError('closeRatio', 'a number in (0, 1]', opts.closeRatio);
    const every = opts.updateEveryWindows ?? 10;
    if (!Number.isInteger(every) || every < 1)
      throw anomalyError('updateEveryWindows', 'an integer >= 1', every);
    const step = opts.peakStep ?? 0.1;
    if (!(step >= 0) || !Number.isFinite(step)) throw anomalyError('peakStep', 'a finite number >= 0', step);
    this.threshold = opts.threshold;
    this.closeLevel = opts.closeRatio * opts.threshold;
    this.openWindows = opts.openWindows;
    this.closeWindows = opts.closeWindows;
    this.updateEvery = every;
    this.peakStep = step;
  }

  get isOpen(): boolean {
    return this.open;
  }

  update(w: AnomalyWindowScore): AnomalyEvent | undefined {
    if (!Number.isFinite(w.score)) throw anomalyError('score', 'a finite number', w.score);
    if (!this.open) {
      if (w.score > this.threshold) {
        if (this.run === 0) {
          this.runSinceMs = w.timeMs;
          this.runPeak = -Infinity;
        }
        this.run++;
        this.runPeak = Math.max(this.runPeak, w.score);
        if (this.run >= this.openWindows) {
          this.open = true;
          this.run = 0;
          this.below = 0;
          this.sinceMs = this.runSinceMs;
          this.peak = this.runPeak;
          return this.event('open', w);
        }
      } else {
        this.run = 0;
      }
      return undefined;
    }
    this.windowsSinceEvent++;
    this.peak = Math.max(this.peak, w.score);
    if (w.score < this.closeLevel) {
      this.below++;
      if (this.below >= this.closeWindows) {
        this.open = false;
        this.below = 0;
        return this.event('close', w);
      }
    } else {
      this.below = 0;
    }
    const newPeak = this.peak > this.reportedPeak * (1 + this.peakStep) && this.peak === w.score;
    if (newPeak || this.windowsSinceEvent >= this.updateEvery) return this.event('update', w);
    return undefined;
  }

  private event(state: AnomalyState, w: AnomalyWindowScore): AnomalyEvent {
    this.reportedPeak = this.peak;
    this.windowsSinceEvent = 0;
    return {
      state,
      score: w.score,
      threshold: this.threshold,
      sinceMs: this.sinceMs,
      peakScore: this.peak,
      channels: [...w.channels].sort((a, b) => b.contribution - a.contribution),
    };
  }
}

function anomalyError(field: string, expected: string, received: unknown): Error & { code: string } {
  const err = new Error(
    `Expected ${expected} for anomaly ${field} but received ${String(received)}`,
  ) as Error & {
    code: string;
  };
  err.code = 'DIAGNOSIS_CONFIG_INVALID';
  return err;
}
