import { describe, expect, it } from 'vitest';
import { HeartbeatTimer, LabelDebouncer } from '../../agent/diagnosis/debounce.js';

function run(deb: LabelDebouncer, labels: string) {
  return [...labels].map((l) => {
    const r = deb.update(l);
    return `${r.label ?? '-'}${r.changed ? '!' : ''}`;
  });
}

describe('LabelDebouncer (N of M)', () => {
  it('3 of 5: a label becomes stable on its third occurrence in the last five windows', () => {
    const deb = new LabelDebouncer({ n: 3, m: 5 });
    expect(run(deb, 'aabab')).toEqual(['-', '-', '-', 'a!', 'a']);
    // b needs 3 of the last 5: windows ...a b a b b -> b's third.
    expect(run(deb, 'b')).toEqual(['b!']);
    // a single glitch does not flip it back
    expect(run(deb, 'abba')).toEqual(['b', 'b', 'b', 'b']);
  });

  it('isolated outliers never publish', () => {
    const deb = new LabelDebouncer({ n: 3, m: 5 });
    expect(run(deb, 'aaaxaayaazaa')).toEqual(['-', '-', 'a!', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a']);
  });

  it('1 of 1 publishes every change immediately', () => {
    const deb = new LabelDebouncer({ n: 1, m: 1 });
    expect(run(deb, 'abba')).toEqual(['a!', 'b!', 'b', 'a!']);
  });

  it('n <= m/2: the newest qualifying label wins', () => {
    const deb = new LabelDebouncer({ n: 2, m: 4 });
    expect(run(deb, 'aabb')).toEqual(['-', 'a!', 'a', 'b!']);
  });

  it('reset forgets history', () => {
    const deb = new LabelDebouncer({ n: 2, m: 3 });
    run(deb, 'aa');
    deb.reset();
    expect(deb.current).toBeUndefined();
    expect(run(deb, 'ba')).toEqual(['-', '-']);
  });

  it('validates n and m', () => {
    expect(() => new LabelDebouncer({ n: 6, m: 5 })).toThrow(
      expect.objectContaining({ code: 'DIAGNOSIS_CONFIG_INVALID' }),
    );
    expect(() => new LabelDebouncer({ n: 0, m: 5 })).toThrow(
      expect.objectContaining({ code: 'DIAGNOSIS_CONFIG_INVALID' }),
    );
    expect(() => new LabelDebouncer({ n: 1, m: 1.5 })).toThrow();
  });
});

describe('HeartbeatTimer', () => {
  it('publishes on change, then every heartbeatSec, using the injected clock', () => {
    let now = 1_000_000;
    const hb = new HeartbeatTimer({ heartbeatSec: 60, clock: () => now });
    expect(hb.shouldPublish(false, false)).toBeUndefined(); // no stable label yet
    expect(hb.shouldPublish(true, true)).toBe('change');
    hb.published();
    now += 59_999;
    expect(hb.shouldPublish(true, false)).toBeUndefined();
    now += 1;
    expect(hb.shouldPublish(true, false)).toBe('heartbeat');
    hb.published();
    now += 10_000;
    expect(hb.shouldPublish(true, true)).toBe('change'); // a change never waits
    hb.published();
    now += 59_000;
    expect(hb.shouldPublish(true, false)).toBeUndefined(); // the change restarted the period
  });

  it('publishes a heartbeat for a stable label when nothing was published yet', () => {
    const hb = new HeartbeatTimer({ heartbeatSec: 1, clock: () => 0 });
    expect(hb.shouldPublish(true, false)).toBe('heartbeat');
  });

  it('validates heartbeatSec', () => {
    expect(() => new HeartbeatTimer({ heartbeatSec: 0, clock: () => 0 })).toThrow(
      expect.objectContaining({ code: 'DIAGNOSIS_CONFIG_INVALID' }),
    );
  });
});
