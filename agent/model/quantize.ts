// Symmetric int8 quantization of docs/model-format.md §4: weights per output channel,
// activations per tensor with a static scale from calibration.

export const Q_MAX = 127;

/** Round to nearest, ties away from zero (C's roundf, the engine's rounding). */
export function roundHalfAway(x: number): number {
  return x < 0 ? -Math.floor(-x + 0.5) : Math.floor(x + 0.5);
}

export interface QuantizedLinear {
  /** [out][in] row-major, values in [-127, 127]. */
  q: Int8Array;
  /** [out]: w[o][i] ~= q[o][i] * scale[o]. */
  scale: Float32Array;
}

/**
 * Per-output-channel symmetric quantization of a PyTorch [out, in] weight:
 * scale[o] = max_i |w[o][i]| / 127, q = clamp(round_half_away(w / scale), -127, 127).
 * An all-zero row gets scale 1 (any positive scale represents it exactly).
 */
export function quantizeWeightPerChannel(w: Float32Array, out: number, inDim: number): QuantizedLinear {
  if (w.length !== out * inDim) {
    throw new RangeError(
      `quantizeWeightPerChannel: expected ${out}x${inDim} = ${out * inDim} values but received ${w.length}`,
    );
  }
  const q = new Int8Array(out * inDim);
  const scale = new Float32Array(out);
  for (let o = 0; o < out; o++) {
    let absMax = 0;
    for (let i = 0; i < inDim; i++) absMax = Math.max(absMax, Math.abs(w[o * inDim + i]));
    // Store the float32 scale first and quantize with it, so q * scale is what the engine sees.
    const s = absMax > 0 ? Math.fround(absMax / Q_MAX) : 1;
    scale[o] = s;
    for (let i = 0; i < inDim; i++) {
      const v = roundHalfAway(w[o * inDim + i] / s);
      q[o * inDim + i] = Math.max(-Q_MAX, Math.min(Q_MAX, v));
    }
  }
  return { q, scale };
}

/**
 * Static activation scale from a calibration |max|: absMax / 127. A layer whose input was
 * always zero gets 1/127 (any positive scale quantizes zeros exactly).
 */
export function activationScale(absMax: number): number {
  if (!Number.isFinite(absMax) || absMax < 0) {
    throw new RangeError(`activationScale: expected a finite |max| >= 0 but received ${absMax}`);
  }
  return Math.fround(absMax > 0 ? absMax / Q_MAX : 1 / Q_MAX);
}

/** The activation quantizer of §4: clamp(round_half_away(a / scale), -127, 127). */
export function quantizeActivation(a: number, scale: number): number {
  return Math.max(-Q_MAX, Math.min(Q_MAX, roundHalfAway(a / scale)));
}
