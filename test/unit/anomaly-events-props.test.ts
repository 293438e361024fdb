import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AnomalyTracker } from '../../agent/diagnosis/anomaly-events.js';

describe('AnomalyTracker properties', () => {
  it('events follow open (update)* close, each justified by the scores', () => {
    fc.assert(
      fc.property(
        fc.record({
          openWindows: fc.integer({ min: 1, max: 4 }),
          closeWindows: fc.integer({ min: 1, max: 4 }),
          closeRatio: fc.double({ min: 0.1, max: 1, noNaN: true }),
          updateEveryWindows: fc.integer({ min: 1, max: 6 }),
        }),
        fc.array(fc.double({ min: 0, max: 20, noNaN: true }), { maxLength: 80 }),
        (o, scores) => {
          const threshold = 10;
          const t = new AnomalyTracker({ threshold, ...o });
          let open = false;
          let sinceEvent = 0;
          scores.forEach((score, i) => {
            const ev = t.update({ score, timeMs: i, channels: [] });
            if (open) sinceEvent++;
            if (!ev) {
              if (open) expect(sinceEvent).toBeLessThan(o.updateEveryWindows);
              return;
            }
            if (ev.state === 'open') {
              expect(open).toBe(false);
              const run = scores.slice(i - o.openWindows + 1, i + 1);
              expect(run.length).toBe(o.openWindows);
              expect(run.every((s) => s > threshold)).toBe(true);
              expect(ev.peakScore).toBe(Math.max(...run));
              open = true;
            } else {
              expect(open).toBe(true);
              expect(ev.peakScore).toBeGreaterThanOrEqual(score);
              if (ev.state === 'close') {
                const run = scores.slice(i - o.closeWindows + 1, i + 1);
                expect(run.every((s) => s < o.closeRatio * threshold)).toBe(true);
                open = false;
              }
            }
            expect(ev.threshold).toBe(threshold);
            expect(ev.sinceMs).toBeLessThanOrEqual(i);
            sinceEvent = 0;
            expect(t.isOpen).toBe(open);
          });
        },
      ),
      { numRuns: 1000 },
    );
  });
});
