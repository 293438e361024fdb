// The arithmetic of `vigil bench`: order statistics over timed samples and peer ratios.
// Percentiles are nearest-rank (the value of one real sample, never an interpolation), the
// convention agent/health/latency-window.ts uses too.

export interface Summary {
  /** Samples (runs) summarized. */
  n: number;
  medianUs: number;
  p90Us: number;
  minUs: number;
  meanUs: number;
}

function checked(samples: readonly number[], what: string): number[] {
  if (samples.length === 0) throw new RangeError(`${what}: expected at least one sample but received none`);
  const bad = samples.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0)
    throw new RangeError(`${what}: expected finite samples but received ${samples[bad]} at index ${bad}`);
  return [...samples].sort((a, b) => a - b);
}

/**
 * Nearest-rank percentile: the smallest sample such that at least p% of the samples are <= it
 * (rank ceil(p/100 * n), 1-based; p = 0 gives the minimum).
 */
export function percentile(samples: readonly number[], p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile: expected p in [0, 100] but received ${p}`);
  const s = checked(samples, 'percentile');
  const rank = Math.max(1, Math.ceil((p / 100) * s.length));
  return s[rank - 1];
}

/** Median: the middle sample, or the mean of the two middle ones for an even count. */
export function median(samples: readonly number[]): number {
  const s = checked(samples, 'median');
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function summarize(samples: readonly number[]): Summary {
  const s = checked(samples, 'summarize');
  return {
    n: s.length,
    medianUs: median(s),
    p90Us: percentile(s, 90),
    minUs: s[0],
    meanUs: s.reduce((a, b) => a + b, 0) / s.length,
  };
}

/**
 * How many times faster `subject` is than `peer` (peer time / subject time): 5 means the
 * subject takes a fifth of the peer's time. null when either is missing or not positive.
 */
export function speedup(peerUs: number | undefined, subjectUs: number | undefined): number | null {
  if (peerUs === undefined || subjectUs === undefined) return null;
  if (!(peerUs > 0 && subjectUs > 0) || !Number.isFinite(peerUs) || !Number.isFinite(subjectUs)) return null;
  return peerUs / subjectUs;
}

/** Max |a[i] - b[i]| over two equal-length arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length)
    throw new RangeError(`maxAbsDiff: expected equal lengths but received ${a.length} and ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Index of the largest value (first one on ties); -1 for an empty array. */
export function argmax(a: ArrayLike<number>): number {
  let best = -1;
  for (let i = 0; i < a.length; i++) if (best < 0 || a[i] > a[best]) best = i;
  return best;
}
