import { describe, expect, it } from 'vitest';
import { LatencyWindow, percentile } from '../../agent/health/latency-window.js';
import { parseThrottled } from '../../agent/health/throttling.js';

describe('percentiles (nearest rank)', () => {
  it('matches the definition on small sets', () => {
    expect(percentile([], 50)).toBe(0);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(percentile([1, 2, 3, 4], 51)).toBe(3);
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(hundred, 99)).toBe(99);
    expect(percentile(hundred, 100)).toBe(100);
    expect(percentile(hundred, 0)).toBe(1);
  });

  it('LatencyWindow keeps only the last `capacity` samples but counts all and the max', () => {
    const w = new LatencyWindow(10);
    for (let i = 1; i <= 100; i++) w.record(i);
    w.record(Number.NaN); // ignored
    // window holds 91..100
    expect(w.summary()).toEqual({ p50: 95, p99: 100, max: 100, count: 100 });
    for (let i = 0; i < 10; i++) w.record(5);
    expect(w.summary()).toEqual({ p50: 5, p99: 5, max: 100, count: 110 });
  });

  it('sorts numerically, not as strings', () => {
    const w = new LatencyWindow(8);
    [1000, 200, 30, 4].forEach((x) => w.record(x));
    expect(w.summary().p50).toBe(30);
  });
});

describe('Raspberry Pi get_throttled', () => {
  it('parses vcgencmd and sysfs forms', () => {
    expect(parseThrottled('throttled=0x50005')).toEqual({
      raw: '0x50005',
      underVoltage: true,
      frequencyCapped: false,
      throttled: true,
      softTempLimit: false,
      occurred: true,
    });
    expect(parseThrottled('0\n')).toMatchObject({ raw: '0x0', underVoltage: false, occurred: false });
    expect(parseThrottled('80008')).toMatchObject({ softTempLimit: true, occurred: true });
    expect(parseThrottled('garbage!')).toBeNull();
  });
});
