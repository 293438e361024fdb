// WindowAssembler: one per asset. Turns bound channel samples (bind-channels.ts) into the model's
// input windows (docs/model-format.md section 1): Float32Array windowLength x channels, time-major,
// channels in model order, one window every `hop` samples. Pure: the clock is injected, no I/O.
//
//   const asm = new WindowAssembler('pump-7', spec, { clock: () => Date.now() });
//   const windows = asm.push(bound.channels, { expected: bound.expected });
//   asm.counters()  // for the health message
//
// Policy (docs/inputs.md "Window assembly" is the user-facing description):
// - Time grid. Every sample is placed on a grid slot of period 1000/sampleRateHz ms anchored at the
//   first sample after a (re)start: slot = round((t - origin) / period). Sender time is used when
//   the message has it, arrival time (the clock) otherwise. Blocks occupy consecutive slots from
//   the slot of t0; a block without t0 continues its channel's stream when its arrival-derived
//   start is within max(maxFillSamples, block length) slots of the next expected slot, and a
//   reading without a time takes the next slot when its arrival slot is the channel's newest, the
//   next or the one after (jitter up to a period is neither a duplicate nor a gap). Channels
//   arriving in separate messages are aligned by these slots.
// - Gaps (an in-order sample more than one slot after its channel's last): up to maxFillSamples
//   missing slots are filled by linear interpolation (counted: gaps +1, filled +n); a longer gap
//   restarts the window after the hole (gaps +1, resets +1).
// - Out of order (a sample for a slot at or before its channel's last): a slot that already holds
//   a received sample is a duplicate (dropped, duplicates +1); a slot that was filled, within
//   reorderSamples of the channel's last slot and not before the pending window start, takes the
//   late sample; anything older is dropped (reorderDropped +1). A window is emitted once every
//   channel has reached reorderSamples slots past its end, so that tolerance applies to it.
// - Clock jumps (sender time only): a message whose sender time lies more than clockJumpMs before
//   the newest sender time seen, or whose sender time advanced more than clockJumpMs further than
//   arrival time did since the previous message, resets the asset (clockJumps +1) and re-anchors
//   the grid on it. A broker backlog (sender time advancing slower than arrival) is not a jump.
// - Rate mismatch: a block whose rateHz differs from the model's by more than rateTolerance
//   (relative) is rejected whole (rateMismatch +1); no resampling.
// - Hold: a reading (message without rateHz) that lacks one of the channels its input is
//   expected to feed holds that channel's last value at the reading's slot, when the last received
//   value is at most holdSamples slots old (held +n). A later real sample replaces a held one
//   under the out-of-order rule.
// - Memory: each channel keeps a ring of bufferSamples slots (4-byte value + 1-byte state). A
//   channel that runs bufferSamples ahead of the pending window start (another channel stalled)
//   moves the start up so the pending window ends reorderSamples before its newest slot (overruns +1).

import type { ChannelSamples } from './decoded.js';

export interface WindowSpec {
  sampleRateHz: number;
  windowLength: number;
  /** Model channel names, in model order. */
  channels: readonly string[];
  /** Samples between window starts (>= 1; may exceed windowLength). */
  hop: number;
}

export interface WindowPolicy {
  /** Longest run of missing slots filled by linear interpolation. Default max(2, round(1% of rate)). */
  maxFillSamples: number;
  /** How far behind its channel's newest slot a late sample may still replace a filled slot. Default maxFillSamples. */
  reorderSamples: number;
  /** Most slots a reading may hold a missing expected channel's last value. Default 5. */
  holdSamples: number;
  /** Sender-time jump bound. Default 10000 ms. */
  clockJumpMs: number;
  /** Relative rate tolerance for blocks. Default 0.001. */
  rateTolerance: number;
  /** Ring size per channel in slots (>= windowLength + reorderSamples + 1).
   * Default 2*windowLength + hop + reorderSamples + ceil(sampleRateHz) (one second of lead). */
  bufferSamples: number;
}

export interface AssembledWindow {
  assetId: string;
  /** Time of the first and the last sample of the window (inclusive), ms since the epoch. */
  startMs: number;
  endMs: number;
  /** windowLength x channels, time-major. */
  samples: Float32Array;
  /** Number of slots (over all channels) that were interpolated or held rather than received. */
  filledSamples: number;
}

export interface WindowCounters {
  /** Samples placed on the grid (received, per channel). */
  accepted: number;
  /** Gap events (an in-order sample after missing slots), short or long. */
  gaps: number;
  /** Slots filled by interpolation. */
  filled: number;
  /** Slots filled by holding a missing channel's last value. */
  held: number;
  /** Window restarts after a gap too long to fill. */
  resets: number;
  reorderDropped: number;
  duplicates: number;
  clockJumps: number;
  /** Blocks rejected for a sample rate other than the model's. */
  rateMismatch: number;
  /** Times a channel ran a full buffer ahead of a stalled one. */
  overruns: number;
  /** Windows emitted. */
  windows: number;
}

export interface WindowAssemblerOptions {
  /** Arrival time in ms since the epoch. */
  clock: () => number;
  policy?: Partial<WindowPolicy>;
}

export interface PushOptions {
  /** Model channels the message's input feeds; readings hold those missing from the message. */
  expected?: readonly string[];
}

const EMPTY = 0;
const REAL = 1;
const FILLED = 2;

interface ChannelRing {
  values: Float32Array;
  state: Uint8Array;
  /** Newest slot written (received or filled); -Infinity when the channel has no data. */
  frontier: number;
  /** Newest slot holding a received sample and its value (for holds). */
  lastRealSlot: number;
  lastRealValue: number;
}

/**
 * 2*windowLength + hop + reorderSamples + one second of samples: room for one channel to run a
 * window plus a second of blocks ahead of a channel that arrives in separate messages.
 */
function defaultBufferSamples(spec: WindowSpec, reorderSamples: number): number {
  return 2 * spec.windowLength + spec.hop + reorderSamples + Math.ceil(spec.sampleRateHz);
}

export function defaultWindowPolicy(spec: WindowSpec): WindowPolicy {
  const maxFill = Math.max(2, Math.round(spec.sampleRateHz * 0.01));
  return {
    maxFillSamples: maxFill,
    reorderSamples: maxFill,
    holdSamples: 5,
    clockJumpMs: 10_000,
    rateTolerance: 0.001,
    bufferSamples: defaultBufferSamples(spec, maxFill),
  };
}

export class WindowAssembler {
  readonly assetId: string;
  readonly spec: WindowSpec;
  readonly policy: WindowPolicy;
  private readonly clock: () => number;
  private readonly periodMs: number;
  private readonly cap: number;
  private readonly rings: ChannelRing[];
  private readonly index: Map<string, number>;
  private originMs: number | undefined;
  /** Slot of the next window's first sample. */
  private start = 0;
  private newestSenderMs: number | undefined;
  private lastSenderMs: number | undefined;
  private lastSenderArrivalMs: number | undefined;
  private readonly c: WindowCounters = {
    accepted: 0,
    gaps: 0,
    filled: 0,
    held: 0,
    resets: 0,
    reorderDropped: 0,
    duplicates: 0,
    clockJumps: 0,
    rateMismatch: 0,
    overruns: 0,
    windows: 0,
  };
  private out: AssembledWindow[] = [];

  constructor(assetId: string, spec: WindowSpec, opts: WindowAssemblerOptions) {
    if (!(spec.sampleRateHz > 0) || !Number.isFinite(spec.sampleRateHz)) {
      throw assemblerError('sampleRateHz', 'a finite positive rate', spec.sampleRateHz);
    }
    if (!Number.isInteger(spec.windowLength) || spec.windowLength < 1) {
      throw assemblerError('windowLength', 'a positive integer', spec.windowLength);
    }
    if (!Number.isInteger(spec.hop) || spec.hop < 1)
      throw assemblerError('hop', 'a positive integer', spec.hop);
    if (spec.channels.length < 1)
      throw assemblerError('channels', 'at least one channel', spec.channels.length);
    if (new Set(spec.channels).size !== spec.channels.length) {
      throw assemblerError('channels', 'distinct channel names', spec.channels.join(', '));
    }
    this.assetId = assetId;
    this.spec = spec;
    const policy = { ...defaultWindowPolicy(spec), ...opts.policy };
    if (opts.policy?.bufferSamples === undefined) {
      policy.bufferSamples = defaultBufferSamples(spec, policy.reorderSamples);
    }
    this.policy = policy;
    for (const key of ['maxFillSamples', 'reorderSamples', 'holdSamples'] as const) {
      const v = this.policy[key];
      if (!Number.isInteger(v) || v < 0) throw assemblerError(key, 'an integer >= 0', v);
    }
    if (!(this.policy.clockJumpMs > 0))
      throw assemblerError('clockJumpMs', 'a number > 0', this.policy.clockJumpMs);
    if (!(this.policy.rateTolerance >= 0) || !Number.isFinite(this.policy.rateTolerance)) {
      throw assemblerError('rateTolerance', 'a finite number >= 0', this.policy.rateTolerance);
    }
    const minBuffer = spec.windowLength + this.policy.reorderSamples + 1;
    if (!Number.isInteger(this.policy.bufferSamples) || this.policy.bufferSamples < minBuffer) {
      throw assemblerError(
        'bufferSamples',
        `an integer >= windowLength + reorderSamples + 1 (${minBuffer})`,
        this.policy.bufferSamples,
      );
    }
    this.clock = opts.clock;
    this.periodMs = 1000 / spec.sampleRateHz;
    this.cap = this.policy.bufferSamples;
    this.index = new Map(spec.channels.map((name, i) => [name, i]));
    this.rings = spec.channels.map(() => ({
      values: new Float32Array(this.cap),
      state: new Uint8Array(this.cap),
      frontier: -Infinity,
      lastRealSlot: -Infinity,
      lastRealValue: 0,
    }));
  }

  counters(): Readonly<WindowCounters> {
    return { ...this.c };
  }

  /** Bytes held by the rings: constant for the assembler's life (the memory bound). */
  memoryBytes(): number {
    return this.rings.length * this.cap * (Float32Array.BYTES_PER_ELEMENT + 1);
  }

  /** Drops all buffered samples (e.g. on pause); counters are kept. */
  reset(): void {
    for (const r of this.rings) {
      r.state.fill(EMPTY);
      r.frontier = -Infinity;
      r.lastRealSlot = -Infinity;
    }
    this.originMs = undefined;
    this.start = 0;
    this.newestSenderMs = undefined;
    this.lastSenderMs = undefined;
    this.lastSenderArrivalMs = undefined;
  }

  /** Adds one message's samples (model channel -> samples); returns the windows completed by it. */
  push(channels: ReadonlyMap<string, ChannelSamples>, opts: PushOptions = {}): AssembledWindow[] {
    this.out = [];
    const arrivalMs = this.clock();
    const tracks: Track[] = [];
    let senderEndMs: number | undefined;
    let isReading = false;
    for (const [name, samples] of channels) {
      const ch = this.index.get(name);
      if (ch === undefined || samples.values.length === 0) continue;
      if (samples.rateHz !== undefined) {
        const rel = Math.abs(samples.rateHz - this.spec.sampleRateHz) / this.spec.sampleRateHz;
        if (rel > this.policy.rateTolerance) {
          this.c.rateMismatch++;
          continue;
        }
      } else {
        isReading = true;
      }
      const track = this.track(ch, samples, arrivalMs);
      tracks.push(track);
      if (track.sender) {
        let end = -Infinity; // readings may come in any order (Sparkplug batches)
        for (const t of track.times) if (t > end) end = t;
        senderEndMs = senderEndMs === undefined ? end : Math.max(senderEndMs, end);
      }
    }
    if (tracks.length === 0) return this.out;
    if (senderEndMs !== undefined) this.checkClock(senderEndMs, arrivalMs);
    if (this.originMs === undefined) {
      let first = Infinity;
      for (const t of tracks) first = Math.min(first, t.times[0]);
      this.originMs = first;
      this.start = 0;
    }
    this.place(tracks, isReading ? opts.expected : undefined);
    return this.out;
  }

  /** Sample times for one channel of a message (block times from t0 or arrival; reading times). */
  private track(ch: number, s: ChannelSamples, arrivalMs: number): Track {
    const n = s.values.length;
    const times = new Float64Array(n);
    if (s.rateHz !== undefined) {
      let t0 = s.t0Ms;
      const sender = t0 !== undefined;
      if (t0 === undefined) {
        t0 = arrivalMs - (n - 1) * this.periodMs;
        const r = this.rings[ch];
        if (this.originMs !== undefined && r.frontier !== -Infinity) {
          const next = r.frontier + 1;
          if (Math.abs(this.slotOf(t0) - next) <= Math.max(this.policy.maxFillSamples, n)) {
            t0 = this.originMs + next * this.periodMs; // continue the stream: arrival jitter is not a gap
          }
        }
      }
      for (let i = 0; i < n; i++) times[i] = t0 + i * this.periodMs;
      return { ch, values: s.values, times, sender, block: true };
    }
    if (s.timestampsMs !== undefined && s.timestampsMs.length === n) {
      times.set(s.timestampsMs);
      return { ch, values: s.values, times, sender: true, block: false };
    }
    let first = arrivalMs - (n - 1) * this.periodMs;
    const r = this.rings[ch];
    if (this.originMs !== undefined && r.frontier !== -Infinity) {
      // Arrival jitter of up to a period must not turn into duplicates and gaps: a reading that
      // lands on the channel's newest slot, the next or the one after is the next sample.
      const k = this.slotOf(first);
      if (k >= r.frontier && k <= r.frontier + 2) first = this.originMs + (r.frontier + 1) * this.periodMs;
    }
    for (let i = 0; i < n; i++) times[i] = first + i * this.periodMs;
    return { ch, values: s.values, times, sender: false, block: false };
  }

  private checkClock(senderEndMs: number, arrivalMs: number): void {
    const bound = this.policy.clockJumpMs;
    let jumped = false;
    if (this.newestSenderMs !== undefined && senderEndMs < this.newestSenderMs - bound) jumped = true;
    if (this.lastSenderMs !== undefined && this.lastSenderArrivalMs !== undefined) {
      const senderDelta = senderEndMs - this.lastSenderMs;
      const arrivalDelta = arrivalMs - this.lastSenderArrivalMs;
      if (senderDelta - arrivalDelta > bound) jumped = true;
    }
    if (jumped) {
      this.c.clockJumps++;
      this.reset();
    }
    this.newestSenderMs =
      this.newestSenderMs === undefined ? senderEndMs : Math.max(this.newestSenderMs, senderEndMs);
    this.lastSenderMs = senderEndMs;
    this.lastSenderArrivalMs = arrivalMs;
  }

  private slotOf(tMs: number): number {
    return Math.round((tMs - (this.originMs as number)) / this.periodMs);
  }

  /** Writes the tracks sample by sample (interleaved, so one long block can complete several windows). */
  private place(tracks: Track[], expected: readonly string[] | undefined): void {
    let longest = 0;
    for (const t of tracks) longest = Math.max(longest, t.values.length);
    const present = new Set(tracks.map((t) => t.ch));
    const toHold: number[] = [];
    for (const name of expected ?? []) {
      const ch = this.index.get(name);
      if (ch !== undefined && !present.has(ch)) toHold.push(ch);
    }
    const firstSlot = tracks.map((t) => this.slotOf(t.times[0]));
    const lagAfterEnd = this.spec.windowLength - 1 + this.policy.reorderSamples;
    for (let i = 0; i < longest; i++) {
      let newest = -Infinity;
      for (let j = 0; j < tracks.length; j++) {
        const t = tracks[j];
        if (i >= t.values.length) continue;
        // Blocks: consecutive slots from the first one. Rounding each sample's time instead would
        // turn float noise at a half-period offset into duplicate/gap pairs inside one block.
        const k = t.block ? firstSlot[j] + i : this.slotOf(t.times[i]);
        this.write(t.ch, k, t.values[i]);
        newest = Math.max(newest, k);
      }
      for (const ch of toHold) this.hold(ch, newest);
      if (newest >= this.start + lagAfterEnd) this.emitReady();
    }
  }

  private write(ch: number, k: number, v: number): void {
    const r = this.rings[ch];
    const cap = this.cap;
    if (k > r.frontier) {
      if (r.frontier === -Infinity) {
        // A channel's first sample after a (re)start: windows cannot start before it.
        if (k > this.start) this.start = k;
      } else {
        const gap = k - r.frontier - 1;
        if (gap > 0) {
          this.c.gaps++;
          if (gap <= this.policy.maxFillSamples) {
            const from = r.values[mod(r.frontier, cap)];
            for (let j = 1; j <= gap; j++) {
              const idx = mod(r.frontier + j, cap);
              r.values[idx] = from + ((v - from) * j) / (gap + 1);
              r.state[idx] = FILLED;
            }
            this.c.filled += gap;
          } else {
            clearSlots(r, r.frontier + 1, k - 1, cap);
            if (k - 1 >= this.start) {
              this.start = k;
              this.c.resets++;
            }
          }
        }
      }
      if (k - this.start >= cap) {
        // This channel ran a full buffer ahead of the pending window: move the window up so that
        // it ends reorderSamples before k (it can be emitted as soon as the others catch up).
        this.start = k - this.spec.windowLength + 1 - this.policy.reorderSamples;
        this.c.overruns++;
      }
      const idx = mod(k, cap);
      r.values[idx] = v;
      r.state[idx] = REAL;
      r.frontier = k;
      r.lastRealSlot = k;
      r.lastRealValue = v;
      this.c.accepted++;
      return;
    }
    if (k <= r.frontier - cap) {
      this.c.reorderDropped++;
      return;
    }
    const idx = mod(k, cap);
    if (r.state[idx] === REAL) {
      this.c.duplicates++;
      return;
    }
    if (k >= this.start && k >= r.frontier - this.policy.reorderSamples) {
      r.values[idx] = v;
      r.state[idx] = REAL;
      if (k > r.lastRealSlot) {
        r.lastRealSlot = k;
        r.lastRealValue = v;
      }
      this.c.accepted++;
      return;
    }
    this.c.reorderDropped++;
  }

  /** Holds a missing expected channel's last received value up to slot k (bounded by holdSamples). */
  private hold(ch: number, k: number): void {
    const r = this.rings[ch];
    if (r.lastRealSlot === -Infinity || k <= r.frontier) return;
    const limit = Math.min(k, r.lastRealSlot + this.policy.holdSamples);
    for (let j = r.frontier + 1; j <= limit; j++) {
      const idx = mod(j, this.cap);
      r.values[idx] = r.lastRealValue;
      r.state[idx] = FILLED;
      this.c.held++;
    }
    if (limit > r.frontier) r.frontier = limit;
  }

  private emitReady(): void {
    const W = this.spec.windowLength;
    const C = this.rings.length;
    for (;;) {
      let minFrontier = Infinity;
      for (const r of this.rings) minFrontier = Math.min(minFrontier, r.frontier);
      const end = this.start + W - 1;
      // Wait reorderSamples past the window's end so a late sample can still replace a filled slot.
      if (minFrontier < end + this.policy.reorderSamples) return;
      const samples = new Float32Array(W * C);
      let filled = 0;
      let hole = -Infinity;
      for (let c = 0; c < C && hole === -Infinity; c++) {
        const r = this.rings[c];
        for (let t = 0; t < W; t++) {
          const idx = mod(this.start + t, this.cap);
          const st = r.state[idx];
          if (st === EMPTY) {
            hole = Math.max(hole, this.start + t);
            break;
          }
          if (st === FILLED) filled++;
          samples[t * C + c] = r.values[idx];
        }
      }
      if (hole !== -Infinity) {
        // Defensive: a slot nobody filled (cannot happen under the rules above) restarts after it.
        this.start = hole + 1;
        this.c.resets++;
        continue;
      }
      const origin = this.originMs as number;
      this.out.push({
        assetId: this.assetId,
        startMs: origin + this.start * this.periodMs,
        endMs: origin + end * this.periodMs,
        samples,
        filledSamples: filled,
      });
      this.c.windows++;
      this.start += this.spec.hop;
    }
  }
}

interface Track {
  ch: number;
  values: Float64Array;
  times: Float64Array;
  /** Times are the sender's (clock-jump checks apply). */
  sender: boolean;
  /** Fixed-rate block: sample i is at slot(times[0]) + i (never re-rounded per sample). */
  block: boolean;
}

function mod(k: number, cap: number): number {
  const m = k % cap;
  return m < 0 ? m + cap : m;
}

function clearSlots(r: ChannelRing, from: number, to: number, cap: number): void {
  if (to - from + 1 >= cap) {
    r.state.fill(EMPTY);
    return;
  }
  for (let j = from; j <= to; j++) r.state[mod(j, cap)] = EMPTY;
}

function assemblerError(field: string, expected: string, received: unknown): Error {
  const err = new Error(`Expected ${expected} for ${field} but received ${String(received)}`) as Error & {
    code: string;
  };
  err.code = 'INGEST_CONFIG_INVALID';
  return err;
}
