// Latency percentiles over the most recent `capacity` samples (a ring buffer: bounded memory,
// reflects current behaviour rather than the whole uptime). Nearest-rank percentiles:
// p-th percentile = the ceil(p/100 * n)-th smallest sample (1-based), so p50 of [1,2,3,4] is 2
// and p99 of 100 samples is the 99th smallest.

export interface LatencySummary {
  p50: number;
  p99: number;
  max: number;
  /** Samples recorded since start (not only those in the window). */
  count: number;
}

export function percentile(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return 0;
  const rank = Math.min(n, Math.max(1, Math.ceil((p / 100) * n)));
  return sorted[rank - 1];
}

export class LatencyWindow {
  private readonly buf: Float64Array;
  private next = 0;
  private filled = 0;
  private total = 0;
  private maxSeen = 0;

  constructor(readonly capacity = 1024) {
    this.buf = new Float64Array(capacity);
  }

  record(value: number): void {
    if (!Number.isFinite(value)) return;
    this.buf[this.next] = value;
    this.next = (this.next + 1) % this.capacity;
    this.filled = Math.min(this.capacity, this.filled + 1);
    this.total++;
    this.maxSeen = Math.max(this.maxSeen, value);
  }

  summary(): LatencySummary {
    const s = this.buf.slice(0, this.filled).sort();
    return {
      p50: Math.round(percentile(s, 50)),
      p99: Math.round(percentile(s, 99)),
      max: Math.round(this.maxSeen),
      count: this.total,
    };
  }
}
