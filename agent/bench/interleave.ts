// Interleaved timing: every contender runs once per round, the starting contender rotating
// from round to round, so a burst of load from other processes on this shared machine hits all
// contenders alike and their ratios stay meaningful even when absolute times drift. Each call is
// timed on the wall clock and on the process CPU clock (every thread of the process: ORT's and
// the engine's work included, other processes' time excluded).

export interface Contender {
  id: string;
  /** One call (sync or async); the promise is awaited inside the timed span. */
  call(): unknown;
}

export interface Clocks {
  /** Monotonic wall time, nanoseconds. */
  wallNs(): bigint;
  /** CPU time of this process (user + system), microseconds. */
  cpuUs(): number;
}

export const processClocks: Clocks = {
  wallNs: () => process.hrtime.bigint(),
  cpuUs: () => {
    const u = process.cpuUsage();
    return u.user + u.system;
  },
};

export interface Samples {
  wallUs: number[];
  cpuUs: number[];
}

export interface InterleaveOptions {
  warmup: number;
  runs: number;
  clocks?: Clocks;
}

export async function interleave(
  contenders: readonly Contender[],
  opts: InterleaveOptions,
): Promise<Map<string, Samples>> {
  const clocks = opts.clocks ?? processClocks;
  const out = new Map<string, Samples>(contenders.map((c) => [c.id, { wallUs: [], cpuUs: [] }]));
  const n = contenders.length;
  for (let round = 0; round < opts.warmup + opts.runs; round++) {
    for (let j = 0; j < n; j++) {
      const c = contenders[(round + j) % n];
      const c0 = clocks.cpuUs();
      const t0 = clocks.wallNs();
      const r = c.call();
      if (r instanceof Promise) await r;
      const t1 = clocks.wallNs();
      const c1 = clocks.cpuUs();
      if (round >= opts.warmup) {
        const s = out.get(c.id)!;
        s.wallUs.push(Number(t1 - t0) / 1000);
        s.cpuUs.push(c1 - c0);
      }
    }
  }
  return out;
}
