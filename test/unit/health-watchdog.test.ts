import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createNotifier } from '../../agent/health/sd-notify.js';
import { Watchdog, watchdogMsFromEnv } from '../../agent/health/watchdog.js';
import type { Timers } from '../../agent/mqtt/connection.js';

function fakeTimers() {
  let now = 0;
  let seq = 0;
  const pending = new Map<number, { at: number; fn: () => void }>();
  const timers: Timers = {
    setTimeout: (fn, ms) => {
      pending.set(++seq, { at: now + ms, fn });
      return seq;
    },
    clearTimeout: (h) => void pending.delete(h as number),
  };
  const advance = (ms: number) => {
    const end = now + ms;
    for (;;) {
      const due = [...pending.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      pending.delete(due[0]);
      now = due[1].at;
      due[1].fn();
    }
    now = end;
  };
  return { timers, advance, now: () => now };
}

describe('watchdog', () => {
  it('reads WatchdogSec from WATCHDOG_USEC, only for our pid', () => {
    expect(watchdogMsFromEnv({ WATCHDOG_USEC: '20000000' }, 7)).toBe(20_000);
    expect(watchdogMsFromEnv({ WATCHDOG_USEC: '20000000', WATCHDOG_PID: '7' }, 7)).toBe(20_000);
    expect(watchdogMsFromEnv({ WATCHDOG_USEC: '20000000', WATCHDOG_PID: '8' }, 7)).toBeNull();
    expect(watchdogMsFromEnv({}, 7)).toBeNull();
  });

  it('pings every WatchdogSec/2 while idle, stops when an inference is stuck, resumes on progress', () => {
    const t = fakeTimers();
    const sent: string[] = [];
    let inFlightSince: number | null = null;
    const wd = new Watchdog({
      notifier: { notify: (s) => (sent.push(s), true) },
      watchdogMs: 10_000,
      now: t.now,
      timers: t.timers,
      oldestInFlightStart: () => inFlightSince,
    });
    wd.ready();
    expect(sent).toEqual(['READY=1']);
    t.advance(10_000); // two checks, idle and healthy
    expect(sent.filter((s) => s === 'WATCHDOG=1')).toHaveLength(2);
    inFlightSince = t.now(); // an inference starts and never returns
    t.advance(5_000); // in flight exactly 5 s: not yet older than the interval
    expect(wd.counters().pings).toBe(3);
    t.advance(5_000);
    t.advance(5_000);
    expect(wd.counters()).toMatchObject({ pings: 3, starved: 2 });
    wd.progress(); // e.g. another model's window completed
    t.advance(5_000);
    expect(wd.counters().pings).toBe(4);
    inFlightSince = null;
    wd.stopping();
    expect(sent.at(-1)).toBe('STOPPING=1');
    t.advance(60_000);
    expect(wd.counters().pings).toBe(4);
  });

  it('disabled without WATCHDOG_USEC: READY/STOPPING still sent, no pings', () => {
    const t = fakeTimers();
    const sent: string[] = [];
    const wd = new Watchdog({
      notifier: { notify: (s) => (sent.push(s), true) },
      watchdogMs: null,
      now: t.now,
      timers: t.timers,
      oldestInFlightStart: () => null,
    });
    wd.ready();
    t.advance(100_000);
    wd.stopping();
    expect(sent).toEqual(['READY=1', 'STOPPING=1']);
    expect(wd.counters()).toEqual({ enabled: false, intervalMs: null, pings: 0, starved: 0 });
  });

  it('without the addon, notify is a no-op that warns once under systemd', () => {
    const lines: string[] = [];
    const log = pino({ level: 'warn' }, { write: (s: string) => void lines.push(s) });
    const n = createNotifier(null, log, { NOTIFY_SOCKET: '/run/systemd/notify' });
    expect(n.notify('READY=1')).toBe(false);
    expect(n.notify('WATCHDOG=1')).toBe(false);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/sd_notify unavailable/);
    const quiet: string[] = [];
    createNotifier(null, pino({ level: 'warn' }, { write: (s: string) => void quiet.push(s) }), {}).notify(
      'READY=1',
    );
    expect(quiet).toHaveLength(0);
  });
});
