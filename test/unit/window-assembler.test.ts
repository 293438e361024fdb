import { describe, expect, it } from 'vitest';
import type { ChannelSamples } from '../../agent/ingest/decoded.js';
import {
  WindowAssembler,
  type WindowCounters,
  type WindowPolicy,
  type WindowSpec,
} from '../../agent/ingest/window-assembler.js';

const T0 = 1_763_856_000_000; // ms
const PERIOD = 10; // 100 Hz

/** A fake clock: tests move `now` by hand; no sleeps. */
function fakeClock(start = T0) {
  const c = { now: start, fn: () => c.now };
  return c;
}

const vib: WindowSpec = { sampleRateHz: 100, windowLength: 4, hop: 2, channels: ['ax', 'ay'] };
const policy: Partial<WindowPolicy> = {
  maxFillSamples: 2,
  reorderSamples: 2,
  holdSamples: 2,
  clockJumpMs: 1000,
};

function make(spec = vib, p: Partial<WindowPolicy> = policy, clock = fakeClock()) {
  return { asm: new WindowAssembler('asset-1', spec, { clock: clock.fn, policy: p }), clock };
}

const block = (values: number[], t0Ms?: number, rateHz = 100): ChannelSamples => ({
  values: Float64Array.from(values),
  t0Ms,
  rateHz,
});
const reading = (v: number, tsMs?: number): ChannelSamples => ({
  values: Float64Array.of(v),
  timestampsMs: tsMs === undefined ? undefined : Float64Array.of(tsMs),
});
const range = (from: number, n: number, scale = 1) => Array.from({ length: n }, (_, i) => (from + i) * scale);
const slotTime = (k: number) => T0 + k * PERIOD;
const ch = (entries: Record<string, ChannelSamples>) => new Map(Object.entries(entries));

/** Channel c of a time-major window. */
function column(samples: Float32Array, c: number, C: number): number[] {
  const out: number[] = [];
  for (let t = c; t < samples.length; t += C) out.push(samples[t]);
  return out;
}

const zero: WindowCounters = {
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

describe('WindowAssembler: assembly', () => {
  it('cuts time-major windows every hop, waiting reorderSamples past each window end', () => {
    const { asm } = make();
    const w = asm.push(ch({ ax: block(range(0, 8), T0), ay: block(range(100, 8), T0) }));
    // slots 0..7: windows [0..3] (needs slot 5) and [2..5] (needs 7); [4..7] waits for slot 9
    expect(w.map((x) => x.startMs)).toEqual([slotTime(0), slotTime(2)]);
    expect(w[0].endMs).toBe(slotTime(3));
    expect([...w[0].samples]).toEqual([0, 100, 1, 101, 2, 102, 3, 103]);
    expect(w[1].assetId).toBe('asset-1');
    expect(w[1].filledSamples).toBe(0);
    expect(asm.counters()).toEqual({ ...zero, accepted: 16, windows: 2 });
    const more = asm.push(ch({ ax: block([8, 9], slotTime(8)), ay: block([108, 109], slotTime(8)) }));
    expect(more.map((x) => column(x.samples, 0, 2))).toEqual([[4, 5, 6, 7]]);
  });

  it('aligns channels that arrive in separate messages by time', () => {
    const { asm } = make();
    expect(asm.push(ch({ ax: block(range(0, 6), T0) }))).toEqual([]);
    // ay's clock is 3 ms off: it still lands on the same slots
    const w = asm.push(ch({ ay: block(range(10, 6), T0 + 3) }));
    expect(w).toHaveLength(1);
    expect(column(w[0].samples, 1, 2)).toEqual([10, 11, 12, 13]);
    expect(asm.counters()).toMatchObject({ accepted: 12, windows: 1, gaps: 0, duplicates: 0 });
  });

  it('keeps a block on consecutive slots when its t0 sits half a period off the grid', () => {
    // At 6 kHz (period 1/6 ms, not exact in binary) rounding each sample's time at a half-period
    // offset flips between neighbours for about a third of the samples.
    const period = 1000 / 6000;
    const { asm } = make({ ...vib, sampleRateHz: 6000, hop: 4 });
    asm.push(ch({ ax: block(range(0, 4096), T0, 6000) }));
    asm.push(ch({ ay: block(range(0, 4096), T0 + period / 2, 6000) }));
    expect(asm.counters()).toMatchObject({ accepted: 8192, duplicates: 0, gaps: 0, reorderDropped: 0 });
  });

  it('starts windows where the last channel to start has data', () => {
    const { asm } = make();
    asm.push(ch({ ax: block(range(0, 10), T0) }));
    const w = asm.push(ch({ ay: block(range(0, 8, 10), slotTime(2)) })); // ay starts at slot 2
    expect(w.map((x) => x.startMs)).toEqual([slotTime(2), slotTime(4)]);
    expect(asm.counters().resets).toBe(0);
  });

  it('supports hop > windowLength (slots between windows are skipped)', () => {
    const { asm } = make({ ...vib, hop: 6, channels: ['ax'] });
    const w = asm.push(ch({ ax: block(range(0, 16), T0) }));
    expect(w.map((x) => column(x.samples, 0, 1))).toEqual([
      [0, 1, 2, 3],
      [6, 7, 8, 9],
    ]);
  });
});

describe('WindowAssembler: gaps', () => {
  it('fills a gap of up to maxFillSamples by linear interpolation (gaps +1 per channel, filled +n)', () => {
    const { asm } = make();
    asm.push(ch({ ax: block([0, 1], T0), ay: block([10, 20], T0) }));
    const w = asm.push(
      ch({ ax: block([4, 5, 6, 7], slotTime(4)), ay: block([50, 60, 70, 80], slotTime(4)) }),
    );
    expect(column(w[0].samples, 0, 2)).toEqual([0, 1, 2, 3]);
    expect(column(w[0].samples, 1, 2)).toEqual([10, 20, 30, 40]);
    expect(w[0].filledSamples).toBe(4);
    expect(asm.counters()).toEqual({ ...zero, accepted: 12, gaps: 2, filled: 4, windows: 2 });
  });

  it('restarts the window after a gap longer than maxFillSamples (resets +1)', () => {
    const { asm } = make();
    asm.push(ch({ ax: block([0, 1, 2], T0), ay: block([0, 1, 2], T0) }));
    const w = asm.push(ch({ ax: block(range(6, 6), slotTime(6)), ay: block(range(6, 6), slotTime(6)) }));
    // slots 3..5 missing: the next window starts at 6; [8..11] waits for slot 13
    expect(w.map((x) => x.startMs)).toEqual([slotTime(6)]);
    expect(column(w[0].samples, 0, 2)).toEqual([6, 7, 8, 9]);
    expect(asm.counters()).toEqual({ ...zero, accepted: 18, gaps: 2, resets: 1, windows: 1 });
  });

  it('does not count a reset for a gap that lies before the pending window', () => {
    const { asm } = make({ ...vib, hop: 10, channels: ['ax'] });
    asm.push(ch({ ax: block(range(0, 6), T0) })); // window [0..3] emitted, next starts at slot 10
    asm.push(ch({ ax: block(range(9, 7), slotTime(9)) })); // gap 6..8 (3 slots) is before slot 10
    expect(asm.counters()).toMatchObject({ gaps: 1, resets: 0, filled: 0, windows: 2 });
  });
});

describe('WindowAssembler: out of order and duplicates', () => {
  const one: WindowSpec = { sampleRateHz: 100, windowLength: 4, hop: 4, channels: ['v'] };
  const at = (k: number, v = k) => ch({ v: reading(v, slotTime(k)) });

  it('replaces a filled slot with a late sample within reorderSamples, drops older ones', () => {
    const { asm } = make(one);
    for (const k of [0, 1, 3]) asm.push(at(k)); // slot 2 filled (2)
    asm.push(at(2, 42)); // late but within tolerance: replaces the fill
    asm.push(at(0, 99)); // duplicate of a received sample
    const w = [...asm.push(at(4)), ...asm.push(at(5))];
    expect(w.map((x) => column(x.samples, 0, 1))).toEqual([[0, 1, 42, 3]]);
    expect(w[0].filledSamples).toBe(0);
    for (const k of [6, 8, 9]) asm.push(at(k)); // slot 7 filled; window [4..7] waits for slot 9
    expect(asm.counters().windows).toBe(2);
    asm.push(at(7, 77)); // window [4..7] already emitted: late
    for (const k of [10, 11, 12, 13]) asm.push(at(k)); // window [8..11] at slot 13
    asm.push(at(11, 5)); // duplicate
    asm.push(at(-30)); // long before the pending window
    expect(asm.counters()).toEqual({
      ...zero,
      accepted: 13,
      gaps: 2,
      filled: 2,
      duplicates: 2,
      reorderDropped: 2,
      windows: 3,
    });
  });

  it('counts a redelivered block as duplicates even after its windows were cut', () => {
    const { asm } = make();
    const msg = ch({ ax: block(range(0, 8), T0), ay: block(range(0, 8), T0) });
    asm.push(msg);
    expect(asm.push(msg)).toEqual([]);
    expect(asm.counters()).toMatchObject({ accepted: 16, duplicates: 16, windows: 2, reorderDropped: 0 });
  });
});

describe('WindowAssembler: clock jumps', () => {
  it('resets and re-anchors when sender time goes back beyond clockJumpMs', () => {
    const { asm, clock } = make();
    asm.push(ch({ ax: block(range(0, 8), T0), ay: block(range(0, 8), T0) }));
    clock.now += 80;
    const back = T0 - 3_600_000;
    const w = asm.push(ch({ ax: block(range(50, 6), back), ay: block(range(50, 6), back) }));
    expect(asm.counters()).toMatchObject({ clockJumps: 1, accepted: 28, windows: 3 });
    expect(w.map((x) => x.startMs)).toEqual([back]);
    expect(column(w[0].samples, 0, 2)).toEqual([50, 51, 52, 53]);
  });

  it('treats a small backward step as out of order, not a jump', () => {
    const { asm, clock } = make();
    asm.push(ch({ ax: block(range(0, 8), T0), ay: block(range(0, 8), T0) }));
    clock.now += 80;
    asm.push(ch({ ax: block([1, 2], slotTime(-50)), ay: block([1, 2], slotTime(-50)) })); // 500 ms back
    expect(asm.counters()).toMatchObject({ clockJumps: 0, reorderDropped: 4 });
  });

  it('resets when sender time runs ahead of arrival time by more than clockJumpMs', () => {
    const { asm, clock } = make();
    asm.push(ch({ ax: block(range(0, 4), T0), ay: block(range(0, 4), T0) }));
    clock.now += 40;
    const ahead = T0 + 3_600_000;
    asm.push(ch({ ax: block(range(0, 6), ahead), ay: block(range(0, 6), ahead) }));
    expect(asm.counters()).toMatchObject({ clockJumps: 1, resets: 0, windows: 1 });
  });

  it('a broker backlog or a sensor outage is not a clock jump', () => {
    const { asm, clock } = make();
    asm.push(ch({ ax: block(range(0, 4), T0), ay: block(range(0, 4), T0) }));
    // backlog: 30 s later, queued messages with consecutive sender times arrive at once
    clock.now += 30_000;
    asm.push(ch({ ax: block(range(4, 4), slotTime(4)), ay: block(range(4, 4), slotTime(4)) }));
    asm.push(ch({ ax: block(range(8, 4), slotTime(8)), ay: block(range(8, 4), slotTime(8)) }));
    // outage: sender and arrival both advance 10 minutes
    clock.now += 600_000;
    const later = slotTime(12) + 600_000;
    asm.push(ch({ ax: block(range(0, 4), later), ay: block(range(0, 4), later) }));
    expect(asm.counters()).toMatchObject({ clockJumps: 0, resets: 1, gaps: 2 });
  });
});

describe('WindowAssembler: rate mismatch', () => {
  it('rejects a block at another rate whole, accepts one within rateTolerance', () => {
    const { asm } = make();
    asm.push(ch({ ax: block(range(0, 8), T0, 200), ay: block(range(0, 8), T0, 100) }));
    expect(asm.counters()).toMatchObject({ rateMismatch: 1, accepted: 8, windows: 0 });
    asm.push(ch({ ax: block(range(0, 8), T0, 100.05) }));
    expect(asm.counters()).toMatchObject({ rateMismatch: 1, accepted: 16, windows: 2 });
  });
});

describe('WindowAssembler: 1 Hz readings with hold', () => {
  const pump: WindowSpec = {
    sampleRateHz: 1,
    windowLength: 4,
    hop: 1,
    channels: ['flow', 'pressure', 'temp'],
  };
  const p: Partial<WindowPolicy> = { maxFillSamples: 2, reorderSamples: 2, holdSamples: 2 };
  const expected = pump.channels;
  const r = (sec: number, values: Record<string, number>) =>
    new Map(Object.entries(values).map(([k, v]) => [k, reading(v, T0 + sec * 1000)]));

  it('holds a missing expected channel for at most holdSamples, then fills or waits', () => {
    const { asm } = make(pump, p);
    const out = [];
    for (let s = 0; s < 3; s++)
      out.push(...asm.push(r(s, { flow: s, pressure: 10 + s, temp: 60 + s }), { expected }));
    out.push(...asm.push(r(3, { flow: 3, pressure: 13 }), { expected })); // temp held (62)
    out.push(...asm.push(r(4, { flow: 4, pressure: 14 }), { expected })); // temp held (62)
    out.push(...asm.push(r(5, { flow: 5, pressure: 15 }), { expected })); // too old to hold
    expect(out).toEqual([]);
    expect(asm.counters()).toMatchObject({ held: 2, windows: 0 });
    out.push(...asm.push(r(6, { flow: 6, pressure: 16, temp: 66 }), { expected })); // slot 5 interpolated
    expect(out.map((w) => column(w.samples, 2, 3))).toEqual([
      [60, 61, 62, 62],
      [61, 62, 62, 62],
    ]);
    expect(out[0].filledSamples).toBe(1);
    expect(asm.counters()).toMatchObject({ held: 2, gaps: 1, filled: 1, windows: 2 });
  });

  it('does not hold without an expected list (channels from separate inputs)', () => {
    const { asm } = make(pump, p);
    for (let s = 0; s < 6; s++) asm.push(r(s, { flow: s, pressure: s }));
    expect(asm.counters()).toMatchObject({ held: 0, windows: 0 });
  });

  it('replaces a held value by the late real reading', () => {
    const { asm } = make(pump, p);
    const out = [];
    for (let s = 0; s < 3; s++)
      out.push(...asm.push(r(s, { flow: s, pressure: s, temp: 60 + s }), { expected }));
    out.push(...asm.push(r(3, { flow: 3, pressure: 3 }), { expected }));
    out.push(...asm.push(r(3, { temp: 63 }))); // late temp for slot 3, from another message
    out.push(...asm.push(r(4, { flow: 4, pressure: 4, temp: 64 }), { expected }));
    out.push(...asm.push(r(5, { flow: 5, pressure: 5, temp: 65 }), { expected }));
    expect(column(out[0].samples, 2, 3)).toEqual([60, 61, 62, 63]);
    expect(out[0].filledSamples).toBe(0);
  });
});

describe('WindowAssembler: arrival time', () => {
  it('stamps readings without sender time with the injected clock', () => {
    const spec: WindowSpec = { sampleRateHz: 1, windowLength: 3, hop: 3, channels: ['v'] };
    const { asm, clock } = make(spec, { maxFillSamples: 1, reorderSamples: 0 });
    const jitter = [0, 180, -150, 90, -200, 40];
    const out = [];
    for (let i = 0; i < 6; i++) {
      clock.now = T0 + i * 1000 + jitter[i];
      out.push(...asm.push(ch({ v: reading(i) })));
    }
    expect(out.map((w) => column(w.samples, 0, 1))).toEqual([
      [0, 1, 2],
      [3, 4, 5],
    ]);
    expect(out[0].startMs).toBe(T0);
    expect(asm.counters()).toMatchObject({ accepted: 6, gaps: 0, duplicates: 0 });
  });

  it('absorbs arrival jitter of up to a period without duplicates or gaps', () => {
    const spec: WindowSpec = { sampleRateHz: 1, windowLength: 3, hop: 3, channels: ['v'] };
    const { asm, clock } = make(spec, { maxFillSamples: 1, reorderSamples: 0 });
    // by rounding alone, readings 1 and 2 (1.6 s, 2.1 s) would share slot 2 and slot 1 be a gap
    const arrivals = [0, 1600, 2100, 3000, 4000, 5400, 6000];
    const out = [];
    for (let i = 0; i < arrivals.length; i++) {
      clock.now = T0 + arrivals[i];
      out.push(...asm.push(ch({ v: reading(i) })));
    }
    expect(out.map((w) => column(w.samples, 0, 1))).toEqual([
      [0, 1, 2],
      [3, 4, 5],
    ]);
    expect(asm.counters()).toMatchObject({ accepted: 7, gaps: 0, duplicates: 0, filled: 0 });
    // a reading after a real pause is placed by its arrival time: a gap
    clock.now = T0 + 10_000;
    asm.push(ch({ v: reading(99) }));
    expect(asm.counters()).toMatchObject({ gaps: 1, resets: 1 });
  });

  it('continues a block stream without t0 despite arrival jitter', () => {
    const { asm, clock } = make({ ...vib, channels: ['ax'] });
    const arrivals = [30, 72, 108, 151]; // 4-sample blocks every ~40 ms
    for (let i = 0; i < 4; i++) {
      clock.now = T0 + arrivals[i];
      asm.push(ch({ ax: block(range(i * 4, 4), undefined) }));
    }
    expect(asm.counters()).toMatchObject({
      accepted: 16,
      gaps: 0,
      duplicates: 0,
      reorderDropped: 0,
      windows: 6,
    });
  });
});

describe('WindowAssembler: memory bound', () => {
  it('keeps a fixed ring per channel; a stalled channel makes the other overrun, not grow', () => {
    // default ring: 2*windowLength + hop + reorderSamples + 1 s of samples, 5 bytes a slot
    expect(make().asm.memoryBytes()).toBe(2 * (2 * 4 + 2 + 2 + 100) * 5);
    const { asm } = make(vib, { ...policy, bufferSamples: 12 });
    const bytes = asm.memoryBytes();
    expect(bytes).toBe(2 * 12 * 5);
    for (let i = 0; i < 50; i++) asm.push(ch({ ax: block(range(i * 8, 8), slotTime(i * 8)) }));
    expect(asm.memoryBytes()).toBe(bytes);
    expect(asm.counters()).toMatchObject({ windows: 0, accepted: 400 });
    expect(asm.counters().overruns).toBeGreaterThan(30);
    // the last overrun (at ax slot 397) moved the pending window to [392..395]: when ay comes back
    // with slots 392..399, windows are cut from there
    const w = asm.push(ch({ ay: block(range(0, 8), slotTime(392)) }));
    expect(w.map((x) => x.startMs)).toEqual([slotTime(392), slotTime(394)]);
    expect(column(w[0].samples, 1, 2)).toEqual([0, 1, 2, 3]);
    expect(column(w[0].samples, 0, 2)).toEqual([392, 393, 394, 395]);
  });

  it('validates spec and policy', () => {
    const clock = fakeClock();
    expect(() => new WindowAssembler('a', { ...vib, hop: 0 }, { clock: clock.fn })).toThrow(
      expect.objectContaining({ code: 'INGEST_CONFIG_INVALID' }),
    );
    expect(
      () =>
        new WindowAssembler('a', vib, { clock: clock.fn, policy: { bufferSamples: 5, reorderSamples: 2 } }),
    ).toThrow(expect.objectContaining({ code: 'INGEST_CONFIG_INVALID' }));
    expect(() => new WindowAssembler('a', { ...vib, channels: ['ax', 'ax'] }, { clock: clock.fn })).toThrow(
      expect.objectContaining({
        code: 'INGEST_CONFIG_INVALID',
        message: expect.stringContaining('distinct'),
      }),
    );
    expect(() => new WindowAssembler('a', vib, { clock: clock.fn, policy: { clockJumpMs: 0 } })).toThrow(
      expect.objectContaining({ code: 'INGEST_CONFIG_INVALID' }),
    );
    expect(() => new WindowAssembler('a', vib, { clock: clock.fn, policy: { maxFillSamples: -1 } })).toThrow(
      expect.objectContaining({ code: 'INGEST_CONFIG_INVALID' }),
    );
  });
});
