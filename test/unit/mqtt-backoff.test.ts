import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffBaseMs, backoffDelayMs } from '../../agent/mqtt/backoff.js';

const p = { initialDelayMs: 1000, maxDelayMs: 60_000, jitter: 0.5 };

describe('reconnect backoff', () => {
  it('doubles from the initial delay up to the cap', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7, 100, 5000].map((k) => backoffBaseMs(k, p))).toEqual([
      1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000, 60000,
    ]);
  });

  it('without jitter the schedule is exactly the exponential curve', () => {
    expect([0, 1, 2, 6].map((k) => backoffDelayMs(k, { ...p, jitter: 0 }, () => 0.99))).toEqual([
      1000, 2000, 4000, 60000,
    ]);
  });

  it('jitter spreads +-50% around the curve, clamped to [initial, cap]', () => {
    expect(backoffDelayMs(3, p, () => 0)).toBe(4000); // 8000 * 0.5
    expect(backoffDelayMs(3, p, () => 0.5)).toBe(8000);
    expect(backoffDelayMs(3, p, () => 0.999999)).toBe(12000);
    expect(backoffDelayMs(0, p, () => 0)).toBe(1000); // never below the initial delay
    expect(backoffDelayMs(0, p, () => 0.999999)).toBe(1500);
    expect(backoffDelayMs(10, p, () => 0)).toBe(30000);
    expect(backoffDelayMs(10, p, () => 0.999999)).toBe(60000); // never above the cap
  });

  it('for any attempt and random value: initial <= delay <= cap and within the jitter band', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 200 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (k, r, j) => {
          const pol = { ...p, jitter: j };
          const d = backoffDelayMs(k, pol, () => r);
          const base = backoffBaseMs(k, pol);
          expect(d).toBeGreaterThanOrEqual(pol.initialDelayMs);
          expect(d).toBeLessThanOrEqual(pol.maxDelayMs);
          expect(d).toBeGreaterThanOrEqual(
            Math.min(pol.maxDelayMs, Math.max(pol.initialDelayMs, Math.floor(base * (1 - j)))),
          );
          expect(d).toBeLessThanOrEqual(Math.max(pol.initialDelayMs, Math.ceil(base * (1 + j))));
        },
      ),
    );
  });
});
