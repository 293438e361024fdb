// A plain TypeScript forward pass of vigil-tst (docs/model-format.md §2), written for clarity,
// not speed. Linear layers run as their weight type says (§4): fp32, or int8 weights with a
// per-channel scale and a static input scale (activations quantized with round-half-away and
// clamped to [-127, 127], integer dot products, then scaled). Uses: calibration and int8
// emulation when the native addon is unavailable (it records every linear layer's input |max|
// like the engine's calibration mode), and tests that need a reference without the addon.
// Input: front-end features [T' * C'].
import { Q_MAX, quantizeActivation, roundHalfAway } from './quantize.js';
import { tstDims, type TstHyperparameters } from './tst-hyperparameters.js';

export interface ReferenceOutputs {
  probs: Float32Array;
  embedding: Float32Array;
  patchError: Float32Array;
  channelError: Float32Array;
}

export class ReferenceModel {
  private readonly dims;
  /** Running input |max| per linear layer, when recording. */
  readonly inputAbsMax: Record<string, number> = {};
  recording = false;
  windows = 0;
  /** Per block with int8 ffn_up and ffn_down: its GELU table, built on first use. */
  private readonly geluTables = new Map<number, GeluTable>();

  constructor(
    private readonly h: TstHyperparameters,
    private readonly w: Map<string, Float32Array | Int8Array>,
  ) {
    this.dims = tstDims(h);
  }

  private t(name: string): Float32Array {
    const v = this.w.get(name);
    if (!(v instanceof Float32Array)) throw new Error(`ReferenceModel: F32 tensor ${name} is missing`);
    return v;
  }

  /** y[n][o] = x[n][:] . W[o][:] + b[o]; W is PyTorch [out, in]. */
  private linear(name: string, x: Float32Array, rows: number, inDim: number): Float32Array {
    const W = this.w.get(`${name}.weight`);
    const b = this.t(`${name}.bias`);
    const out = b.length;
    if (!W) throw new Error(`ReferenceModel: tensor ${name}.weight is missing`);
    if (this.recording) {
      let m = this.inputAbsMax[name] ?? 0;
      for (let i = 0; i < rows * inDim; i++) m = Math.max(m, Math.abs(x[i]));
      this.inputAbsMax[name] = m;
    }
    const y = new Float32Array(rows * out);
    if (W instanceof Int8Array) {
      const scale = this.t(`${name}.scale`);
      const inScale = this.t(`${name}.input_scale`)[0];
      const xq = new Int32Array(rows * inDim);
      for (let i = 0; i < rows * inDim; i++) xq[i] = quantizeActivation(x[i], inScale);
      for (let n = 0; n < rows; n++) {
        for (let o = 0; o < out; o++) {
          let acc = 0; // exact: |acc| <= 127 * 127 * inDim < 2^31
          for (let i = 0; i < inDim; i++) acc += xq[n * inDim + i] * W[o * inDim + i];
          y[n * out + o] = acc * inScale * scale[o] + b[o];
        }
      }
      return y;
    }
    for (let n = 0; n < rows; n++) {
      for (let o = 0; o < out; o++) {
        let acc = 0;
        for (let i = 0; i < inDim; i++) acc += x[n * inDim + i] * W[o * inDim + i];
        y[n * out + o] = acc + b[o];
      }
    }
    return y;
  }

  private layerNorm(name: string, x: Float32Array, rows: number): Float32Array {
    const d = this.dims.d;
    const g = this.t(`${name}.weight`);
    const b = this.t(`${name}.bias`);
    const y = new Float32Array(rows * d);
    for (let n = 0; n < rows; n++) {
      let mean = 0;
      for (let i = 0; i < d; i++) mean += x[n * d + i];
      mean /= d;
      let v = 0;
      for (let i = 0; i < d; i++) v += (x[n * d + i] - mean) ** 2;
      const inv = 1 / Math.sqrt(v / d + this.h.layerNormEpsilon);
      for (let i = 0; i < d; i++) y[n * d + i] = (x[n * d + i] - mean) * inv * g[i] + b[i];
    }
    return y;
  }

  /** One window of front-end features [T' * C'], time-major. */
  run(features: Float32Array): ReferenceOutputs {
    const { Tf, Cf, P, N, d, H, F, L, K } = this.dims;
    if (features.length !== Tf * Cf) {
      throw new RangeError(
        `ReferenceModel.run: expected ${Tf * Cf} feature values but received ${features.length}`,
      );
    }
    const mean = this.t('norm.mean');
    const std = this.t('norm.std');
    const PC = P * Cf;
    // Normalized features, grouped into patches: p[n] = u[n*P .. n*P+P-1][:] flattened.
    const p = new Float32Array(N * PC);
    for (let t = 0; t < Tf; t++)
      for (let c = 0; c < Cf; c++) p[t * Cf + c] = (features[t * Cf + c] - mean[c]) / std[c];
    let h = this.linear('patch_embd', p, N, PC);
    const pos = this.t('pos_embd');
    for (let i = 0; i < N * d; i++) h[i] += pos[i];
    const dh = d / H;
    for (let blk = 0; blk < L; blk++) {
      const a = this.layerNorm(`blk.${blk}.attn_norm`, h, N);
      const qkv = this.linear(`blk.${blk}.attn_qkv`, a, N, d);
      const o = new Float32Array(N * d);
      const scores = new Float64Array(N);
      for (let j = 0; j < H; j++) {
        for (let n = 0; n < N; n++) {
          let max = -Infinity;
          for (let m = 0; m < N; m++) {
            let s = 0;
            for (let e = 0; e < dh; e++) s += qkv[n * 3 * d + j * dh + e] * qkv[m * 3 * d + d + j * dh + e];
            scores[m] = s / Math.sqrt(dh);
            max = Math.max(max, scores[m]);
          }
          let sum = 0;
          for (let m = 0; m < N; m++) {
            scores[m] = Math.exp(scores[m] - max);
            sum += scores[m];
          }
          for (let e = 0; e < dh; e++) {
            let acc = 0;
            for (let m = 0; m < N; m++) acc += scores[m] * qkv[m * 3 * d + 2 * d + j * dh + e];
            o[n * d + j * dh + e] = acc / sum;
          }
        }
      }
      const proj = this.linear(`blk.${blk}.attn_output`, o, N, d);
      h = h.map((v, i) => v + proj[i]);
      const a2 = this.layerNorm(`blk.${blk}.ffn_norm`, h, N);
      const up = this.linear(`blk.${blk}.ffn_up`, a2, N, d);
      if (
        this.w.get(`blk.${blk}.ffn_up.weight`) instanceof Int8Array &&
        this.w.get(`blk.${blk}.ffn_down.weight`) instanceof Int8Array
      ) {
        // The engine's int8 FFN: GELU's input quantized to the table's index, the table's value
        // is ffn_down's int8 input (geluTable); here dequantized, ffn_down requantizes it exactly.
        const sDown = this.t(`blk.${blk}.ffn_down.input_scale`)[0];
        let g = this.geluTables.get(blk);
        if (!g) this.geluTables.set(blk, (g = geluTable(sDown)));
        for (let i = 0; i < N * F; i++) {
          const q = Math.max(-Q_MAX, Math.min(Q_MAX, roundHalfAway((up[i] + g.shift) * g.invStep)));
          up[i] = g.table[q + 128] * sDown;
        }
      } else {
        for (let i = 0; i < N * F; i++) up[i] = gelu(up[i]);
      }
      const down = this.linear(`blk.${blk}.ffn_down`, up, N, F);
      h = h.map((v, i) => v + down[i]);
    }
    const z = this.layerNorm('output_norm', h, N);
    const embedding = new Float32Array(d);
    for (let i = 0; i < d; i++) {
      let s = 0;
      for (let n = 0; n < N; n++) s += z[n * d + i];
      embedding[i] = s / N;
    }
    const logits = this.linear('cls', embedding, 1, d);
    const probs = softmax(logits, K);
    let patchError = new Float32Array(0);
    let channelError = new Float32Array(0);
    if (this.h.hasReconstruction) {
      const r = this.linear('recon', z, N, d);
      patchError = new Float32Array(N);
      channelError = new Float32Array(Cf);
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let i = 0; i < PC; i++) {
          const e = (r[n * PC + i] - p[n * PC + i]) ** 2;
          s += e;
          channelError[i % Cf] += e;
        }
        patchError[n] = s / PC;
      }
      for (let c = 0; c < Cf; c++) channelError[c] /= N * P;
    }
    if (this.recording) this.windows++;
    return { probs, embedding, patchError, channelError };
  }
}

function softmax(x: Float32Array, k: number): Float32Array {
  let max = -Infinity;
  for (let i = 0; i < k; i++) max = Math.max(max, x[i]);
  const out = new Float32Array(k);
  let sum = 0;
  for (let i = 0; i < k; i++) sum += out[i] = Math.exp(x[i] - max);
  for (let i = 0; i < k; i++) out[i] /= sum;
  return out;
}

/**
 * The engine's int8 GELU table (addon/src/engine/ops.h make_gelu_table, docs/engine.md step 38)
 * for ffn_down's input scale: GELU's input x maps to q = clamp(round_half_away((x + shift) *
 * invStep), -127, 127), and table[q + 128] is ffn_down's int8 input. The same float parameters
 * as the engine; table entries from this file's erf (within 1.2e-7 of the engine's std::erf).
 */
export interface GeluTable {
  shift: number;
  invStep: number;
  table: Int8Array;
}

export function geluTable(outScale: number): GeluTable {
  const y = 127 * outScale;
  const hi = Math.min(2 * y, y + 0.171);
  const p = (outScale * Math.sqrt(2 * Math.PI)) / 2;
  const lo = p >= 1 ? 0 : -Math.sqrt(-2 * Math.log(p));
  const step = (hi - lo) / 254;
  const invStep = Math.fround(1 / step);
  const shift = Math.fround((-127 - lo / step) * step);
  const table = new Int8Array(256);
  for (let q = -127; q <= 127; q++) {
    const x = q / invStep - shift;
    table[q + 128] = quantizeActivation(gelu(x), outScale);
  }
  table[0] = table[1];
  return { shift, invStep, table };
}

/** Exact GELU, 0.5 x (1 + erf(x / sqrt 2)), with this file's erf. */
function gelu(x: number): number {
  return 0.5 * x * (1 + erf(x / Math.SQRT2));
}

/** erf with |error| < 1.2e-7 (Numerical Recipes erfc, Chebyshev fit). */
export function erf(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 +
                            t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? 1 - r : r - 1;
}
