import { describe, expect, it } from 'vitest';
import { ErrorReporter } from '../../agent/reports/errors.js';
import { ReportContext } from '../../agent/reports/report-context.js';
import { TokenBucket } from '../../agent/reports/token-bucket.js';

describe('TokenBucket', () => {
  it('allows a burst, then ratePerSec per second', () => {
    let t = 0;
    const b = new TokenBucket(5, 5, () => t);
    const first = Array.from({ length: 8 }, () => b.take());
    expect(first.filter(Boolean).length).toBe(5);
    t += 199;
    expect(b.take()).toBe(false); // 0.995 token
    t += 1;
    expect(b.take()).toBe(true); // 1.0 token at 200 ms
    t += 10_000;
    expect(Array.from({ length: 10 }, () => b.take()).filter(Boolean).length).toBe(5); // capped at burst
  });

  it('a clock stepping back mints nothing', () => {
    let t = 10_000;
    const b = new TokenBucket(1, 1, () => t);
    expect(b.take()).toBe(true);
    t = 0;
    expect(b.take()).toBe(false);
    t = 999;
    expect(b.take()).toBe(false);
    t = 1000;
    expect(b.take()).toBe(true);
  });

  it('rejects a non-positive rate', () => {
    expect(() => new TokenBucket(0)).toThrow(/ratePerSec > 0/);
  });
});

describe('ErrorReporter', () => {
  it('publishes up to maxPerSec, counts the rest and reports the count on the next one', () => {
    let t = 0;
    const r = new ErrorReporter(new ReportContext('d', 'b', () => t), 2, () => t);
    const out = Array.from({ length: 10 }, (_, i) =>
      r.report({ code: 'PAYLOAD_INVALID', message: `m${i}`, topic: 's/x' }),
    );
    expect(out.filter((m) => m !== null).length).toBe(2);
    t += 500; // one token
    const next = r.report({ code: 'PAYLOAD_NAN', message: 'nan' });
    expect(next?.suppressed).toBe(8);
    expect(r.counters()).toEqual({
      reported: 11,
      published: 3,
      suppressed: 8,
      byCode: { PAYLOAD_INVALID: 10, PAYLOAD_NAN: 1 },
    });
    t += 500;
    expect(r.report({ code: 'PAYLOAD_NAN', message: 'nan' })?.suppressed).toBe(0);
  });
});
