// The spectral front end of docs/model-format.md section 1: raw window x[T][C] (time-major)
// -> features f[B][3C] (spectrum, envelope, band per raw channel). float64 math, one radix-2
// FFT, float32 out. scripts/train/frontend.py is the training twin; test/unit/frontend.test.ts
// pins the two (max abs diff <= 1e-5).
import type { FrontendSpec } from '../model/manifest-types.js';

const EPS = 1e-6;

export class FrontendError extends Error {
  readonly code = 'FRONTEND_INVALID';
}

export interface FeatureShape {
  length: number; // T'
  channels: number; // C'
}

export function featureShape(windowLength: number, channels: number, spec: FrontendSpec): FeatureShape {
  if (spec.kind === 'none') return { length: windowLength, channels };
  return { length: spec.bins ?? 0, channels: 3 * channels };
}

/** Precomputed plan for one (T, C, fs, spec): twiddles, window, band edges. Reusable, not thread-bound. */
export interface SpectralFrontend {
  readonly windowLength: number;
  readonly channels: number;
  readonly bins: number;
  /** x: T*C float32 time-major -> B*3C float32 time-major (f[k*3C + 3c + j]) */
  run(x: Float32Array, out?: Float32Array): Float32Array;
}

export function createSpectralFrontend(
  windowLength: number,
  channels: number,
  sampleRateHz: number,
  spec: FrontendSpec,
): SpectralFrontend {
  const t = windowLength;
  if (!Number.isInteger(t) || t < 4 || (t & (t - 1)) !== 0) {
    throw new FrontendError(`Expected a power of two >= 4 for windowLength but received ${t}`);
  }
  if (!Number.isInteger(channels) || channels < 1) {
    throw new FrontendError(`Expected positive integer for channels but received ${channels}`);
  }
  if (!(sampleRateHz > 0))
    throw new FrontendError(`Expected positive number for sampleRateHz but received ${sampleRateHz}`);
  if (spec.kind !== 'spectral')
    throw new FrontendError(`Expected frontend.kind "spectral" but received "${spec.kind}"`);
  const b = spec.bins ?? NaN;
  if (!Number.isInteger(b) || b < 1 || (t / 2) % b !== 0) {
    throw new FrontendError(
      `Expected a divisor of windowLength/2=${t / 2} for frontend.bins but received ${spec.bins}`,
    );
  }
  const lo = spec.bandLowHz ?? NaN;
  const hi = spec.bandHighHz ?? NaN;
  if (!(lo >= 0 && hi > lo)) {
    throw new FrontendError(
      `Expected 0 <= bandLowHz < bandHighHz for the frontend band but received ${lo}..${hi}`,
    );
  }
  const fft = createFft(t);
  const w = new Float64Array(t);
  let wSum = 0;
  for (let n = 0; n < t; n++) {
    w[n] = 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / t);
    wSum += w[n];
  }
  const kLo = Math.ceil((lo * t) / sampleRateHz);
  const kHi = Math.min(t / 2 - 1, Math.floor((hi * t) / sampleRateHz));
  const g = t / 2 / b;
  const cf = 3 * channels;
  const s = new Float64Array(t);
  const re = new Float64Array(t);
  const im = new Float64Array(t);
  const mag = new Float64Array(t / 2);
  const feat = new Float64Array(b);

  function run(x: Float32Array, out?: Float32Array): Float32Array {
    if (x.length !== t * channels) {
      throw new FrontendError(
        `Expected ${t * channels} samples (${t} x ${channels}) for the window but received ${x.length}`,
      );
    }
    const o = out ?? new Float32Array(b * cf);
    if (o.length !== b * cf)
      throw new FrontendError(`Expected output length ${b * cf} but received ${o.length}`);
    for (let c = 0; c < channels; c++) {
      let mean = 0;
      for (let n = 0; n < t; n++) mean += x[n * channels + c];
      mean /= t;
      for (let n = 0; n < t; n++) s[n] = x[n * channels + c] - mean;

      // 1. spectrum (and the magnitudes the band feature averages)
      for (let n = 0; n < t; n++) {
        re[n] = s[n] * w[n];
        im[n] = 0;
      }
      fft(re, im, false);
      for (let k = 0; k < t / 2; k++) mag[k] = (2 * Math.hypot(re[k], im[k])) / wSum;
      for (let k = 0; k < b; k++) feat[k] = Math.log(mag[k] + EPS);
      store(o, c, 0);

      // 2. envelope: analytic band-pass -> |z| -> centered, windowed spectrum
      for (let n = 0; n < t; n++) {
        re[n] = s[n];
        im[n] = 0;
      }
      fft(re, im, false);
      for (let k = 0; k < t; k++) {
        if (k >= kLo && k <= kHi) {
          re[k] *= 2;
          im[k] *= 2;
        } else {
          re[k] = 0;
          im[k] = 0;
        }
      }
      fft(re, im, true);
      let eMean = 0;
      for (let n = 0; n < t; n++) {
        const e = Math.hypot(re[n], im[n]) / t;
        re[n] = e;
        eMean += e;
      }
      eMean /= t;
      for (let n = 0; n < t; n++) {
        re[n] = (re[n] - eMean) * w[n];
        im[n] = 0;
      }
      fft(re, im, false);
      for (let k = 0; k < b; k++) feat[k] = Math.log((2 * Math.hypot(re[k], im[k])) / wSum + EPS);
      store(o, c, 1);

      // 3. band: mean magnitude over G-bin groups of the whole [0, T/2) range
      for (let j = 0; j < b; j++) {
        let acc = 0;
        for (let k = j * g; k < (j + 1) * g; k++) acc += mag[k];
        feat[j] = Math.log(acc / g + EPS);
      }
      store(o, c, 2);
    }
    return o;
  }

  /** 4. per-window centering of one feature channel, then cast into the time-major output */
  function store(o: Float32Array, c: number, j: number): void {
    let m = 0;
    for (let k = 0; k < b; k++) m += feat[k];
    m /= b;
    for (let k = 0; k < b; k++) o[k * cf + 3 * c + j] = feat[k] - m;
  }

  return { windowLength: t, channels, bins: b, run };
}

/**
 * In-place iterative radix-2 FFT of length n (a power of two). inverse=true computes the
 * unnormalized inverse (conjugate twiddles); callers divide by n.
 */
export function createFft(n: number): (re: Float64Array, im: Float64Array, inverse: boolean) => void {
  const levels = Math.round(Math.log2(n));
  if (1 << levels !== n)
    throw new FrontendError(`Expected a power of two for the FFT length but received ${n}`);
  const cos = new Float64Array(n / 2);
  const sin = new Float64Array(n / 2);
  for (let i = 0; i < n / 2; i++) {
    cos[i] = Math.cos((2 * Math.PI * i) / n);
    sin[i] = Math.sin((2 * Math.PI * i) / n);
  }
  const rev = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    let r = 0;
    for (let b = 0, v = i; b < levels; b++, v >>>= 1) r = (r << 1) | (v & 1);
    rev[i] = r;
  }
  return (re, im, inverse) => {
    for (let i = 0; i < n; i++) {
      const j = rev[i];
      if (j > i) {
        let tmp = re[i];
        re[i] = re[j];
        re[j] = tmp;
        tmp = im[i];
        im[i] = im[j];
        im[j] = tmp;
      }
    }
    const sign = inverse ? 1 : -1;
    for (let size = 2; size <= n; size <<= 1) {
      const half = size >>> 1;
      const step = n / size;
      for (let start = 0; start < n; start += size) {
        for (let k = 0; k < half; k++) {
          const wr = cos[k * step];
          const wi = sign * sin[k * step];
          const a = start + k;
          const bb = a + half;
          const xr = re[bb] * wr - im[bb] * wi;
          const xi = re[bb] * wi + im[bb] * wr;
          re[bb] = re[a] - xr;
          im[bb] = im[a] - xi;
          re[a] += xr;
          im[a] += xi;
        }
      }
    }
  };
}

// Plans are a few hundred KB at most (T = 8192: twiddles + window + scratch); a process uses one
// or two specs, so a small keyed cache avoids rebuilding them for every window.
const plans = new Map<string, SpectralFrontend>();
const MAX_PLANS = 8;

/** Applies the bundle's front end to one raw window: spectral features, or x itself for "none". */
export function applyFrontend(
  x: Float32Array,
  windowLength: number,
  channels: number,
  sampleRateHz: number,
  spec: FrontendSpec,
): Float32Array {
  if (spec.kind === 'none') return x;
  const key = `${windowLength}/${channels}/${sampleRateHz}/${spec.bins}/${spec.bandLowHz}/${spec.bandHighHz}`;
  let plan = plans.get(key);
  if (plan === undefined) {
    plan = createSpectralFrontend(windowLength, channels, sampleRateHz, spec);
    if (plans.size >= MAX_PLANS) plans.delete(plans.keys().next().value as string);
    plans.set(key, plan);
  }
  return plan.run(x);
}
