// Small deterministic PRNG (mulberry32): seeded weights and input windows for the benchmark,
// the same generator test/fixtures/model/tiny-onnx.ts uses (so that fixture can re-export it).

/** Uniform [0, 1) from a 32-bit seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal samples (Box-Muller over `uniform`). */
export function gaussian(uniform: () => number): () => number {
  return () => {
    const u = 1 - uniform(); // (0, 1]: log(0) never happens
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
  };
}

/** `count` float32 windows of `length` standard-normal values. */
export function randomWindows(count: number, length: number, seed: number): Float32Array[] {
  const g = gaussian(rng(seed));
  return Array.from({ length: count }, () => Float32Array.from({ length }, g));
}
