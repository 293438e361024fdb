// The three model sizes of the engine brief (/work/shared/docs/engine.md, "Where the time goes
// in the peer"): encoder depth, width, feed-forward width and token count. Input is a raw
// 4-channel window cut into 8-step patches (frontend none), so T = 8 N; 8 classes; the
// reconstruction head is on (the anomaly path runs in every real deployment).
import type { TstHyperparameters } from '../model/tst-hyperparameters.js';
import { tstDims } from '../model/tst-hyperparameters.js';

export type BenchSize = 'tiny' | 'mid' | 'large';
export const BENCH_SIZES: readonly BenchSize[] = ['tiny', 'mid', 'large'];

interface SizeSpec {
  blocks: number;
  d: number;
  ff: number;
  tokens: number;
  heads: number;
}

const SPECS: Record<BenchSize, SizeSpec> = {
  tiny: { blocks: 2, d: 64, ff: 256, tokens: 64, heads: 4 },
  mid: { blocks: 4, d: 128, ff: 512, tokens: 128, heads: 4 },
  large: { blocks: 4, d: 256, ff: 1024, tokens: 256, heads: 4 },
};

const CHANNELS = 4;
const PATCH = 8;
const CLASSES = 8;

export function benchHyperparameters(size: BenchSize): TstHyperparameters {
  const s = SPECS[size];
  return {
    name: `bench-${size}`,
    version: '0.0.0',
    windowLength: PATCH * s.tokens,
    channelCount: CHANNELS,
    sampleRateHz: 1000,
    channelNames: Array.from({ length: CHANNELS }, (_, i) => `ch${i}`),
    frontend: 'none',
    frontendBins: 0,
    bandLowHz: 0,
    bandHighHz: 0,
    patchLength: PATCH,
    embeddingLength: s.d,
    blockCount: s.blocks,
    headCount: s.heads,
    feedForwardLength: s.ff,
    layerNormEpsilon: 1e-5,
    labels: Array.from({ length: CLASSES }, (_, i) => `class${i}`),
    hasReconstruction: true,
  };
}

/**
 * Multiply-accumulates of one forward pass, the brief's way (encoder blocks: the four linears
 * plus QK^T and PV; patch embedding and heads excluded): L (N (4 d^2 + 2 d F) + 2 N^2 d).
 */
export function encoderMacs(h: TstHyperparameters): number {
  const { N, d, F, L } = tstDims(h);
  return L * (N * (4 * d * d + 2 * d * F) + 2 * N * N * d);
}

/** Parse "tiny,mid" (or "none") into sizes; throws RangeError naming the bad entry. */
export function parseSizes(list: string): BenchSize[] {
  if (list.trim() === 'none') return [];
  const out: BenchSize[] = [];
  for (const raw of list
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)) {
    if (!(BENCH_SIZES as readonly string[]).includes(raw)) {
      throw new RangeError(
        `Expected --sizes entries among ${BENCH_SIZES.join(', ')} but received ${JSON.stringify(raw)}`,
      );
    }
    if (!out.includes(raw as BenchSize)) out.push(raw as BenchSize);
  }
  if (out.length === 0)
    throw new RangeError(
      `Expected at least one size (or none) in --sizes but received ${JSON.stringify(list)}`,
    );
  return out;
}
