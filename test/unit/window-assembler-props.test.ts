// Property tests for the window assembler: under any sequence of messages (blocks and readings,
// channel subsets, jittered/jumping sender times, wrong rates, arrival-stamped data) the memory
// stays fixed, windows are well formed, and every pushed sample is counted exactly once.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ChannelSamples } from '../../agent/ingest/decoded.js';
import { WindowAssembler, type WindowSpec } from '../../agent/ingest/window-assembler.js';

/** Longer runs: VIGIL_FUZZ_SCALE=50 npx vitest run test/unit/<this file> */
const SCALE = Math.max(1, Number(process.env.VIGIL_FUZZ_SCALE ?? 1));

const T0 = 1_763_856_000_000;

const message = fc.record({
  kind: fc.constantFrom('block', 'reading', 'block-no-t0', 'reading-no-ts'),
  channels: fc.subarray(['a', 'b', 'c', 'zz'], { minLength: 1 }),
  n: fc.integer({ min: 1, max: 40 }),
  /** Offset of the message's first sample from the "expected" stream position, in periods. */
  skew: fc.oneof(
    { weight: 6, arbitrary: fc.constant(0) },
    { weight: 3, arbitrary: fc.integer({ min: -8, max: 8 }) },
    { weight: 1, arbitrary: fc.integer({ min: -5000, max: 5000 }) },
  ),
  jitterMs: fc.double({ min: -0.4, max: 0.4, noNaN: true }),
  wrongRate: fc.integer({ min: 0, max: 9 }).map((x) => x === 0),
  advanceMs: fc.integer({ min: 0, max: 2000 }),
  withExpected: fc.boolean(),
  value: fc.double({ min: -1e6, max: 1e6, noNaN: true }),
});

const spec = fc.record({
  sampleRateHz: fc.constantFrom(1, 100, 12800),
  windowLength: fc.integer({ min: 1, max: 32 }),
  hop: fc.integer({ min: 1, max: 40 }),
  channels: fc.constant(['a', 'b', 'c']),
});

const policy = fc.record(
  {
    maxFillSamples: fc.integer({ min: 0, max: 6 }),
    reorderSamples: fc.integer({ min: 0, max: 6 }),
    holdSamples: fc.integer({ min: 0, max: 6 }),
    clockJumpMs: fc.integer({ min: 1, max: 20_000 }),
  },
  { requiredKeys: [] },
);

describe('WindowAssembler properties', () => {
  it('bounded memory, well-formed windows, every sample counted once', () => {
    fc.assert(
      fc.property(spec, policy, fc.array(message, { maxLength: 60 }), (s: WindowSpec, p, msgs) => {
        const clock = { now: T0 };
        const asm = new WindowAssembler('x', s, { clock: () => clock.now, policy: p });
        const bytes = asm.memoryBytes();
        const period = 1000 / s.sampleRateHz;
        expect(bytes).toBe(3 * asm.policy.bufferSamples * 5);
        let pos = 0; // stream position in samples
        let pushedOnGrid = 0;
        let mismatched = 0;
        let windows = 0;
        for (const m of msgs) {
          clock.now += m.advanceMs;
          const start = pos + m.skew;
          const map = new Map<string, ChannelSamples>();
          for (const name of m.channels) {
            const values = Float64Array.from({ length: m.n }, (_, i) => m.value + i);
            const t0 = T0 + start * period + m.jitterMs * period;
            if (m.kind === 'block' || m.kind === 'block-no-t0') {
              const rateHz = m.wrongRate ? s.sampleRateHz * 2 : s.sampleRateHz;
              map.set(name, { values, rateHz, t0Ms: m.kind === 'block' ? t0 : undefined });
              if (name !== 'zz') {
                if (m.wrongRate) mismatched++;
                else pushedOnGrid += m.n;
              }
            } else {
              const ts = Float64Array.from({ length: m.n }, (_, i) => t0 + i * period);
              map.set(name, { values, timestampsMs: m.kind === 'reading' ? ts : undefined });
              if (name !== 'zz') pushedOnGrid += m.n;
            }
          }
          pos = start + m.n;
          const out = asm.push(map, m.withExpected ? { expected: s.channels } : {});
          windows += out.length;
          for (const w of out) {
            expect(w.assetId).toBe('x');
            expect(w.samples.length).toBe(s.windowLength * 3);
            expect(w.samples.every((v) => Number.isFinite(v))).toBe(true);
            expect(w.endMs - w.startMs).toBeCloseTo((s.windowLength - 1) * period, 3);
            expect(w.filledSamples).toBeGreaterThanOrEqual(0);
            expect(w.filledSamples).toBeLessThanOrEqual(s.windowLength * 3);
          }
          expect(asm.memoryBytes()).toBe(bytes);
        }
        const c = asm.counters();
        // each sample on the model's grid is accepted, a duplicate, or dropped as out of order
        expect(c.accepted + c.duplicates + c.reorderDropped).toBe(pushedOnGrid);
        expect(c.rateMismatch).toBe(mismatched);
        expect(c.windows).toBe(windows);
      }),
      { numRuns: 400 * SCALE },
    );
  });

  it('a clean stream split into arbitrary blocks yields the same windows as one block', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 16 }),
        fc.integer({ min: 1, max: 16 }),
        fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1, maxLength: 15 }),
        (windowLength, hop, sizes) => {
          const s: WindowSpec = { sampleRateHz: 100, windowLength, hop, channels: ['a', 'b'] };
          const total = sizes.reduce((x, y) => x + y, 0);
          const a = Float64Array.from({ length: total }, (_, i) => i);
          const b = Float64Array.from({ length: total }, (_, i) => -i);
          const whole = new WindowAssembler('x', s, { clock: () => T0 });
          const one = whole.push(
            new Map([
              ['a', { values: a, t0Ms: T0, rateHz: 100 }],
              ['b', { values: b, t0Ms: T0, rateHz: 100 }],
            ]),
          );
          const split = new WindowAssembler('x', s, { clock: () => T0 });
          const many = [];
          let off = 0;
          for (const n of sizes) {
            // channels in separate messages, b first
            many.push(
              ...split.push(
                new Map([['b', { values: b.slice(off, off + n), t0Ms: T0 + off * 10, rateHz: 100 }]]),
              ),
            );
            many.push(
              ...split.push(
                new Map([['a', { values: a.slice(off, off + n), t0Ms: T0 + off * 10, rateHz: 100 }]]),
              ),
            );
            off += n;
          }
          expect(many.map((w) => [w.startMs, [...w.samples]])).toEqual(
            one.map((w) => [w.startMs, [...w.samples]]),
          );
          expect(split.counters()).toEqual(whole.counters());
        },
      ),
      { numRuns: 300 * SCALE },
    );
  });
});
