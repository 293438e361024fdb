// The systemd watchdog, fed only by real progress. systemd sets WATCHDOG_USEC (and WATCHDOG_PID)
// from WatchdogSec=; we check every WatchdogSec/2 and send WATCHDOG=1 when, since the previous
// check, the pipeline
//   - made progress: a sensor message was processed or a window was inferred; or
//   - is idle but healthy: no inference has been in flight for longer than WatchdogSec/2.
// A frozen event loop sends nothing (the check itself cannot run); a stuck inference (a run that
// never returns) stops the pings once it is older than WatchdogSec/2 while nothing else
// progresses. Either way systemd restarts the agent within WatchdogSec (+ its stop timeout).
// Quiet sensors are not a fault: an idle pipeline keeps the watchdog fed.
import type { Timers } from '../mqtt/connection.js';
import type { Notifier } from './sd-notify.js';

export interface WatchdogOptions {
  notifier: Notifier;
  /** WatchdogSec in ms (from WATCHDOG_USEC); null disables the pings. */
  watchdogMs: number | null;
  now: () => number;
  timers: Timers;
  /** Start time (ms, `now` clock) of the oldest inference in flight, or null when none. */
  oldestInFlightStart: () => number | null;
}

export interface WatchdogCounters {
  enabled: boolean;
  intervalMs: number | null;
  pings: number;
  /** Checks that sent nothing because the pipeline was stuck. */
  starved: number;
}

/** WatchdogSec in ms when systemd asked this process for pings, else null. */
export function watchdogMsFromEnv(env: NodeJS.ProcessEnv = process.env, pid = process.pid): number | null {
  const usec = Number(env.WATCHDOG_USEC);
  if (!env.WATCHDOG_USEC || !Number.isFinite(usec) || usec <= 0) return null;
  if (env.WATCHDOG_PID && Number(env.WATCHDOG_PID) !== pid) return null;
  return usec / 1000;
}

export class Watchdog {
  private progressed = false;
  private timer: unknown = null;
  private readonly c: WatchdogCounters;
  private readonly intervalMs: number | null;

  constructor(private readonly o: WatchdogOptions) {
    this.intervalMs = o.watchdogMs === null ? null : Math.max(10, Math.floor(o.watchdogMs / 2));
    this.c = { enabled: this.intervalMs !== null, intervalMs: this.intervalMs, pings: 0, starved: 0 };
  }

  /** The pipeline did real work (message processed, window inferred). */
  progress(): void {
    this.progressed = true;
  }

  ready(): void {
    this.o.notifier.notify('READY=1');
    this.schedule();
  }

  stopping(): void {
    this.stop();
    this.o.notifier.notify('STOPPING=1');
  }

  stop(): void {
    if (this.timer !== null) this.o.timers.clearTimeout(this.timer);
    this.timer = null;
  }

  counters(): WatchdogCounters {
    return { ...this.c };
  }

  /** One check (exposed for tests): returns whether WATCHDOG=1 was sent. */
  check(): boolean {
    if (this.intervalMs === null) return false;
    const oldest = this.o.oldestInFlightStart();
    const stuck = oldest !== null && this.o.now() - oldest > this.intervalMs;
    const healthy = this.progressed || !stuck;
    this.progressed = false;
    if (!healthy) {
      this.c.starved++;
      return false;
    }
    this.c.pings++;
    this.o.notifier.notify('WATCHDOG=1');
    return true;
  }

  private schedule(): void {
    if (this.intervalMs === null) return;
    this.timer = this.o.timers.setTimeout(() => {
      this.check();
      this.schedule();
    }, this.intervalMs);
  }
}
