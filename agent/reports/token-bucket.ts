// A token bucket: `ratePerSec` tokens per second, at most `burst` saved up. take() is O(1) and
// reads the injected clock, so tests need no sleeps.

export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly ratePerSec: number,
    readonly burst: number = Math.max(1, Math.ceil(ratePerSec)),
    private readonly now: () => number = Date.now,
  ) {
    if (!(ratePerSec > 0))
      throw Object.assign(new Error(`expected ratePerSec > 0 but received ${ratePerSec}`), {
        code: 'REPORT_INVALID',
      });
    this.tokens = burst;
    this.last = now();
  }

  /** True (and one token spent) when allowed now. */
  take(): boolean {
    const t = this.now();
    // A clock that steps back must not mint tokens nor freeze the bucket forever.
    const dt = Math.max(0, t - this.last);
    this.last = t;
    this.tokens = Math.min(this.burst, this.tokens + (dt / 1000) * this.ratePerSec);
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    return false;
  }
}
