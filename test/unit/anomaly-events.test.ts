import { describe, expect, it } from 'vitest';
import { AnomalyTracker, type AnomalyOptions } from '../../agent/diagnosis/anomaly-events.js';

const base: AnomalyOptions = {
  threshold: 10,
  openWindows: 3,
  closeWindows: 2,
  closeRatio: 0.8,
  updateEveryWindows: 4,
};

/** Feeds scores at t = 0, 1000, 2000, ...; returns 'state@index' for each event. */
function feed(tracker: AnomalyTracker, scores: number[]) {
  const events: string[] = [];
  const details: ReturnType<AnomalyTracker['update']>[] = [];
  scores.forEach((score, i) => {
    const ev = tracker.update({ score, timeMs: i * 1000, channels: [{ name: 'ax', contribution: score }] });
    if (ev) {
      events.push(`${ev.state}@${i}`);
      details.push(ev);
    }
  });
  return { events, details };
}

describe('AnomalyTracker hysteresis', () => {
  it('opens after openWindows consecutive windows above threshold, since = first of the run', () => {
    const t = new AnomalyTracker(base);
    const { events, details } = feed(t, [5, 11, 12, 9, 11, 13, 12]);
    expect(events).toEqual(['open@6']);
    expect(details[0]).toMatchObject({
      state: 'open',
      sinceMs: 4000,
      peakScore: 13,
      score: 12,
      threshold: 10,
    });
    expect(t.isOpen).toBe(true);
  });

  it('a score equal to the threshold does not count as above', () => {
    const t = new AnomalyTracker(base);
    expect(feed(t, [10, 10, 10, 10]).events).toEqual([]);
  });

  it('closes after closeWindows consecutive windows below closeRatio*threshold only', () => {
    const t = new AnomalyTracker({ ...base, updateEveryWindows: 100 });
    // open at 2; 8.5 is between close level (8) and threshold: stays open; 7, 9 restarts; 7, 7 closes
    const { events, details } = feed(t, [11, 11, 11, 8.5, 7, 9, 7, 7.9]);
    expect(events).toEqual(['open@2', 'close@7']);
    expect(details[1]).toMatchObject({ state: 'close', score: 7.9, peakScore: 11, sinceMs: 0 });
    expect(t.isOpen).toBe(false);
  });

  it('closeWindows is the off-delay: dips shorter than it inside an episode do not split the event', () => {
    // as configured for pump assets: 60 windows (60 s at 1 Hz, hop 1) below the close level
    const t = new AnomalyTracker({ ...base, closeWindows: 60, updateEveryWindows: 1000 });
    const scores = [
      ...Array<number>(3).fill(12), // open@2
      ...Array<number>(59).fill(2), // a 59-window dip: not enough to close
      ...Array<number>(5).fill(11), // the episode goes on
      ...Array<number>(59).fill(2), // below again ...
      8, // at the close level (8 = 0.8 * 10) is not below it: the count restarts
      ...Array<number>(60).fill(2), // 60 windows below: closes on the 60th
    ];
    const { events, details } = feed(t, scores);
    const closeAt = 3 + 59 + 5 + 59 + 1 + 59;
    expect(events).toEqual(['open@2', `close@${closeAt}`]);
    expect(details[1]).toMatchObject({ state: 'close', sinceMs: 0, peakScore: 12 });
  });

  it('updates on a new peak beyond peakStep and every K windows, not every window', () => {
    const t = new AnomalyTracker(base); // K = 4, peakStep = 10 %
    const { events, details } = feed(t, [11, 11, 11, 12.5, 12.6, 14, 14, 14, 14, 14, 14]);
    // 12.5 > 11*1.1 -> update@3; 12.6 < 12.5*1.1 no; 14 > 12.5*1.1 -> update@5; then every 4 windows -> update@9
    expect(events).toEqual(['open@2', 'update@3', 'update@5', 'update@9']);
    expect(details.map((d) => d!.peakScore)).toEqual([11, 12.5, 14, 14]);
  });

  it('reopens after a close with a fresh since and peak', () => {
    const t = new AnomalyTracker({ ...base, openWindows: 1, closeWindows: 1, updateEveryWindows: 100 });
    const { events, details } = feed(t, [20, 1, 12]);
    expect(events).toEqual(['open@0', 'close@1', 'open@2']);
    expect(details[2]).toMatchObject({ sinceMs: 2000, peakScore: 12 });
  });

  it('sorts channel contributions, largest first', () => {
    const t = new AnomalyTracker({ ...base, openWindows: 1 });
    const ev = t.update({
      score: 50,
      timeMs: 0,
      channels: [
        { name: 'ax', contribution: 0.1 },
        { name: 'ay', contribution: 0.7 },
        { name: 'temp', contribution: 0.2 },
      ],
    });
    expect(ev!.channels.map((c) => c.name)).toEqual(['ay', 'temp', 'ax']);
  });

  it('rejects non-finite scores and bad options', () => {
    const t = new AnomalyTracker(base);
    expect(() => t.update({ score: NaN, timeMs: 0, channels: [] })).toThrow(
      expect.objectContaining({ code: 'DIAGNOSIS_CONFIG_INVALID' }),
    );
    expect(() => new AnomalyTracker({ ...base, closeRatio: 1.5 })).toThrow();
    expect(() => new AnomalyTracker({ ...base, openWindows: 0 })).toThrow();
  });
});
