// Where the engine's time goes, without instrumenting it: time variants of one model that each
// remove one kind of work (fewer feed-forward units, one block, half the tokens, one head) and
// compare the engine's CPU time with the MACs each variant removes. A variant that saves far more
// time than its MACs explain at the GEMM rate points at per-element float work (GELU, softmax,
// LayerNorm, quantization) rather than at the int8 kernels.
import type { AddonModule } from '../inference/addon-loader.js';
import type { TstHyperparameters } from '../model/tst-hyperparameters.js';
import { tstDims } from '../model/tst-hyperparameters.js';
import { benchHyperparameters, encoderMacs, type BenchSize } from './bench-models.js';
import { interleave } from './interleave.js';
import { buildNativeInt8 } from './native-int8.js';
import { randomWindows } from './seeded-rng.js';
import { summarize } from './stats.js';
import { buildSyntheticOnnx } from './synthetic-onnx.js';

export interface BreakdownVariant {
  name: string;
  what: string;
  hyperparameters: { L: number; d: number; F: number; N: number; H: number };
  encoderMacs: number;
  /** Engine CPU time per runSync, median (microseconds). */
  cpuMedianUs: number;
  /** Elementwise work: GELU evaluations (N F L) and softmax exponentials (N^2 H L). */
  geluCount: number;
  softmaxCount: number;
}

export interface Breakdown {
  size: BenchSize;
  runs: number;
  variants: BreakdownVariant[];
}

function variantsOf(base: TstHyperparameters): { name: string; what: string; h: TstHyperparameters }[] {
  const d = tstDims(base);
  return [
    { name: 'base', what: 'the model as benchmarked', h: base },
    {
      name: 'ff/4',
      what: `feed-forward ${d.F} -> ${d.F / 4}: fewer FFN MACs and GELUs`,
      h: { ...base, feedForwardLength: d.F / 4 },
    },
    { name: '1 block', what: `${d.L} blocks -> 1: the per-block cost`, h: { ...base, blockCount: 1 } },
    {
      name: 'N/2',
      what: `${d.N} tokens -> ${d.N / 2}: linears halve, attention quarters`,
      h: { ...base, windowLength: base.windowLength / 2 },
    },
    {
      name: '1 head',
      what: `${d.H} heads -> 1: same MACs, 1/${d.H} of the softmax exponentials`,
      h: { ...base, headCount: 1 },
    },
  ];
}

export async function runBreakdown(addon: AddonModule, size: BenchSize, runs: number): Promise<Breakdown> {
  const base = benchHyperparameters(size);
  const built = variantsOf(base).map((v) => {
    const onnx = buildSyntheticOnnx(v.h, { seed: 1 });
    const len = v.h.windowLength * v.h.channelCount;
    const gguf = buildNativeInt8(addon, onnx, randomWindows(4, len, 101)).int8Gguf;
    return { ...v, model: new addon.Model(gguf), x: randomWindows(1, len, 202)[0] };
  });
  try {
    // Interleaved like the main comparison, so load bursts spread over all variants.
    const s = await interleave(
      built.map((b) => ({ id: b.name, call: () => b.model.runSync(b.x) })),
      { warmup: 3, runs },
    );
    return {
      size,
      runs,
      variants: built.map((b) => {
        const d = tstDims(b.h);
        return {
          name: b.name,
          what: b.what,
          hyperparameters: { L: d.L, d: d.d, F: d.F, N: d.N, H: d.H },
          encoderMacs: encoderMacs(b.h),
          cpuMedianUs: summarize(s.get(b.name)!.cpuUs).medianUs,
          geluCount: d.N * d.F * d.L,
          softmaxCount: d.N * d.N * d.H * d.L,
        };
      }),
    };
  } finally {
    for (const b of built) b.model.dispose();
  }
}
