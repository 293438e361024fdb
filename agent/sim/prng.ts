// Seeded, deterministic pseudo-random numbers for the simulator (never Math.random):
// xoshiro128** (Blackman & Vigna) seeded through splitmix32, plus normal deviates.
// Every random decision in the simulator draws from a named sub-stream (fork), so adding a
// draw in one place does not shift the numbers anywhere else.

export interface Prng {
  /** uniform in [0, 1) with 32 bits of resolution */
  next(): number;
  /** uniform in [lo, hi) */
  uniform(lo: number, hi: number): number;
  /** integer in [lo, hi] inclusive */
  int(lo: number, hi: number): number;
  /** standard normal (Box-Muller, cached pair) */
  normal(): number;
  /** an independent generator derived from this one's seed and a label */
  fork(label: string): Prng;
}

function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** FNV-1a over a string, mixed with a seed: stable labels -> independent sub-stream seeds. */
function hashLabel(seed: number, label: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

export function createPrng(seed: number): Prng {
  if (!Number.isInteger(seed)) {
    throw Object.assign(new Error(`Expected integer for seed but received ${seed}`), {
      code: 'SIM_INVALID_OPTION',
    });
  }
  const baseSeed = seed >>> 0;
  const sm = splitmix32(baseSeed);
  let a = sm();
  let b = sm();
  let c = sm();
  let d = sm();
  if ((a | b | c | d) === 0) a = 1; // xoshiro's one forbidden state
  let spare: number | undefined;

  const nextU32 = (): number => {
    const result = Math.imul(rotl(Math.imul(b, 5) >>> 0, 7), 9) >>> 0;
    const t = (b << 9) >>> 0;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return result;
  };

  const prng: Prng = {
    next: () => nextU32() / 4294967296,
    uniform: (lo, hi) => lo + (hi - lo) * (nextU32() / 4294967296),
    int: (lo, hi) => lo + Math.floor((nextU32() / 4294967296) * (hi - lo + 1)),
    normal: () => {
      if (spare !== undefined) {
        const s = spare;
        spare = undefined;
        return s;
      }
      // 1 - u keeps the log argument in (0, 1]
      const u = 1 - nextU32() / 4294967296;
      const v = nextU32() / 4294967296;
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
    fork: (label) => createPrng(hashLabel(baseSeed, label) | 0),
  };
  return prng;
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
