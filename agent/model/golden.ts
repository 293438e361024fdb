// golden.json: a few raw input windows and the outputs each backend must reproduce
// (docs/bundles.md). `gguf` holds the int8 GGUF's outputs as computed at conversion (native
// engine), `onnx` the fp32 ONNX's outputs (onnxruntime); each backend is checked against its own.
import type { HeadOutputs } from './outputs-compare.js';

export interface GoldenOutputs {
  probs: number[];
  embedding: number[];
  patchError: number[];
  channelError: number[];
}

export interface Tolerance {
  atol: number;
  rtol: number;
}

export interface Golden {
  schema: 'vigil.golden/1';
  windowLength: number;
  channels: number;
  inputs: number[][];
  expected: { gguf?: GoldenOutputs[]; onnx?: GoldenOutputs[] };
  /** Which engine produced each set, e.g. "native avx512_vnni", "onnxruntime 1.23.0". */
  producedBy: { gguf?: string; onnx?: string };
  tolerance: { gguf: Tolerance; onnx: Tolerance };
}

// The GGUF set allows for float differences between kernel paths (LayerNorm, softmax, GELU
// may be vectorized differently; int8 GEMMs are bit-exact across ISAs).
export const DEFAULT_TOLERANCE = { gguf: { atol: 1e-3, rtol: 1e-3 }, onnx: { atol: 1e-4, rtol: 1e-4 } };

/** A float32 in the fewest JSON characters that still read back as the same float32 (9 digits). */
export function f32Json(x: number): number {
  return Number(x.toPrecision(9));
}

/** A window for golden.json: float32-exact, about half the size of the full double repr. */
export function toGoldenInput(x: Float32Array): number[] {
  return Array.from(x, f32Json);
}

export function toGoldenOutputs(o: HeadOutputs): GoldenOutputs {
  return {
    probs: Array.from(o.probs, f32Json),
    embedding: Array.from(o.embedding, f32Json),
    patchError: Array.from(o.patchError, f32Json),
    channelError: Array.from(o.channelError, f32Json),
  };
}

export interface GoldenMismatch {
  window: number;
  head: keyof GoldenOutputs;
  index: number;
  got: number;
  want: number;
}

/** Compare outputs with expected values: |got - want| <= atol + rtol * |want| per element. */
export function compareGolden(
  got: HeadOutputs[],
  want: GoldenOutputs[],
  tol: Tolerance,
): { maxAbsDiff: number; mismatches: GoldenMismatch[] } {
  const mismatches: GoldenMismatch[] = [];
  let maxAbsDiff = 0;
  want.forEach((w, i) => {
    const g = got[i];
    for (const head of ['probs', 'embedding', 'patchError', 'channelError'] as const) {
      const gv = g[head];
      const wv = w[head];
      // An empty expected head means the model has none (no reconstruction): backends may
      // still emit zeros for it (the training export keeps the four outputs).
      if (wv.length === 0) continue;
      if (gv.length !== wv.length) {
        mismatches.push({ window: i, head, index: -1, got: gv.length, want: wv.length });
        continue;
      }
      for (let k = 0; k < wv.length; k++) {
        const d = Math.abs(gv[k] - wv[k]);
        maxAbsDiff = Math.max(maxAbsDiff, d);
        if (!(d <= tol.atol + tol.rtol * Math.abs(wv[k])))
          mismatches.push({ window: i, head, index: k, got: gv[k], want: wv[k] });
      }
    }
  });
  return { maxAbsDiff, mismatches };
}
