// Diagnosis debouncing and heartbeat timing (pure, clock injected).
//
//   const deb = new LabelDebouncer({ n: 3, m: 5 });
//   const hb = new HeartbeatTimer({ heartbeatSec: 60, clock });
//   const { label, changed } = deb.update(windowLabel);
//   const reason = hb.shouldPublish(label !== undefined, changed); // 'change' | 'heartbeat' | undefined
//   if (reason) { publish(...); hb.published(); }
//
// A label becomes the published (stable) label when it is the label of at least n of the last m
// windows; the newest window's label is the candidate, so with n <= m/2 the label that just
// qualified wins over an older one that still qualifies. Before any label qualifies there is no
// stable label and nothing is published.

export interface DebounceOptions {
  /** Windows (of the last m) that must agree. 1 <= n <= m. */
  n: number;
  m: number;
}

export interface DebounceResult {
  /** The stable label after this window; undefined until one qualifies. */
  label: string | undefined;
  /** True when this window made a different label stable. */
  changed: boolean;
}

export class LabelDebouncer {
  private readonly n: number;
  private readonly m: number;
  private readonly recent: string[] = [];
  private stable: string | undefined;

  constructor(opts: DebounceOptions) {
    if (!Number.isInteger(opts.m) || opts.m < 1) throw debounceError('m', 'an integer >= 1', opts.m);
    if (!Number.isInteger(opts.n) || opts.n < 1 || opts.n > opts.m) {
      throw debounceError('n', `an integer in 1..m (${opts.m})`, opts.n);
    }
    this.n = opts.n;
    this.m = opts.m;
  }

  get current(): string | undefined {
    return this.stable;
  }

  update(label: string): DebounceResult {
    this.recent.push(label);
    if (this.recent.length > this.m) this.recent.shift();
    if (label !== this.stable) {
      let count = 0;
      for (const l of this.recent) if (l === label) count++;
      if (count >= this.n) {
        this.stable = label;
        return { label, changed: true };
      }
    }
    return { label: this.stable, changed: false };
  }

  /** Forgets the history and the stable label (e.g. after a window reset or model change). */
  reset(): void {
    this.recent.length = 0;
    this.stable = undefined;
  }
}

export interface HeartbeatOptions {
  heartbeatSec: number;
  /** ms since the epoch (or any monotonic ms clock). */
  clock: () => number;
}

export type PublishReason = 'change' | 'heartbeat';

export class HeartbeatTimer {
  private readonly periodMs: number;
  private readonly clock: () => number;
  private lastPublishMs: number | undefined;

  constructor(opts: HeartbeatOptions) {
    if (!(opts.heartbeatSec > 0) || !Number.isFinite(opts.heartbeatSec)) {
      throw debounceError('heartbeatSec', 'a finite number > 0', opts.heartbeatSec);
    }
    this.periodMs = opts.heartbeatSec * 1000;
    this.clock = opts.clock;
  }

  /**
   * Whether to publish now: 'change' when the debounced label changed, 'heartbeat' when there is a
   * stable label and heartbeatSec have passed since the last publish (or nothing was published yet).
   */
  shouldPublish(hasLabel: boolean, changed: boolean): PublishReason | undefined {
    if (changed) return 'change';
    if (!hasLabel) return undefined;
    if (this.lastPublishMs === undefined) return 'heartbeat';
    return this.clock() - this.lastPublishMs >= this.periodMs ? 'heartbeat' : undefined;
  }

  /** Records a publish at the clock's current time. */
  published(): void {
    this.lastPublishMs = this.clock();
  }
}

function debounceError(field: string, expected: string, received: unknown): Error & { code: string } {
  const err = new Error(
    `Expected ${expected} for debounce ${field} but received ${String(received)}`,
  ) as Error & {
    code: string;
  };
  err.code = 'DIAGNOSIS_CONFIG_INVALID';
  return err;
}
