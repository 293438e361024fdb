import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  applyFrontend,
  createFft,
  createSpectralFrontend,
  FrontendError,
} from '../../agent/inference/frontend.js';
import type { FrontendSpec } from '../../agent/model/manifest-types.js';

interface FixtureCase {
  windowLength: number;
  channels: number;
  sampleRateHz: number;
  frontend: FrontendSpec;
  x: number[];
  features: number[];
  featureShape: [number, number];
}

const fixture = JSON.parse(
  readFileSync(new URL('../fixtures/frontend/spectral.json', import.meta.url), 'utf8'),
) as { cases: FixtureCase[] };

describe('spectral front end', () => {
  it.each(fixture.cases.map((c, i) => [i, c] as const))(
    'matches scripts/train/frontend.py (case %i)',
    (_i, c) => {
      const fe = createSpectralFrontend(c.windowLength, c.channels, c.sampleRateHz, c.frontend);
      const out = fe.run(Float32Array.from(c.x));
      expect(out.length).toBe(c.featureShape[0] * c.featureShape[1]);
      let max = 0;
      for (let i = 0; i < out.length; i++) max = Math.max(max, Math.abs(out[i] - c.features[i]));
      expect(max).toBeLessThanOrEqual(1e-5);
    },
  );

  it('FFT equals the naive DFT, and inverse(forward) is n times the input', () => {
    const n = 64;
    const fft = createFft(n);
    const re = new Float64Array(n);
    const im = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      re[i] = Math.sin(i * 0.37) + (i % 5) * 0.1;
      im[i] = Math.cos(i * 1.1) * 0.3;
    }
    const r0 = re.slice();
    const i0 = im.slice();
    fft(re, im, false);
    for (const k of [0, 1, 7, 31, 32, 63]) {
      let sr = 0;
      let si = 0;
      for (let t = 0; t < n; t++) {
        const a = (-2 * Math.PI * k * t) / n;
        sr += r0[t] * Math.cos(a) - i0[t] * Math.sin(a);
        si += r0[t] * Math.sin(a) + i0[t] * Math.cos(a);
      }
      expect(re[k]).toBeCloseTo(sr, 9);
      expect(im[k]).toBeCloseTo(si, 9);
    }
    fft(re, im, true);
    for (let t = 0; t < n; t++) expect(re[t] / n).toBeCloseTo(r0[t], 12);
  });

  const spec: FrontendSpec = { kind: 'spectral', bins: 128, bandLowHz: 300, bandHighHz: 900 };

  it('puts a tone at its bin with its amplitude, and is independent of sensor gain', () => {
    const t = 1024;
    const fs = 1024; // 1 Hz bins
    const x = new Float32Array(t);
    let lcg = 12345;
    const noise = () => ((lcg = (Math.imul(lcg, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5) * 0.05;
    for (let n = 0; n < t; n++) x[n] = 0.5 * Math.sin((2 * Math.PI * 40 * n) / fs) + noise();
    const fe = createSpectralFrontend(t, 1, fs, spec);
    const f = fe.run(x);
    const specCh = Array.from({ length: 128 }, (_, k) => f[k * 3]);
    const peak = specCh.indexOf(Math.max(...specCh));
    expect(peak).toBe(40);
    // un-centered level: 2|S|/W of a tone is its amplitude (Hann, on-bin)
    const mean = specCh.reduce((a, v) => a + v, 0) / 128;
    expect(Math.exp(specCh[40] - mean)).toBeGreaterThan(0.5 / 0.01);
    // Centered log: the tone's level relative to the mean log spectrum; a gain change cancels.
    const scaled = fe.run(x.map((v) => v * 3.7));
    let max = 0;
    let sum = 0;
    for (let i = 0; i < f.length; i++) {
      max = Math.max(max, Math.abs(f[i] - scaled[i]));
      sum += Math.abs(f[i] - scaled[i]);
    }
    // Broadband noise keeps the magnitudes well above eps = 1e-6, so a gain change cancels
    // (x3.7 scales each 2|S|/W; centering removes ln 3.7); eps leaves a trace in the weakest bins.
    expect(max).toBeLessThan(0.02);
    expect(sum / f.length).toBeLessThan(1e-3);
  });

  it('shows an amplitude-modulation rate in the envelope channel', () => {
    const t = 2048;
    const fs = 2048;
    const x = new Float32Array(t);
    // 600 Hz carrier (inside the band) modulated at 23 Hz
    for (let n = 0; n < t; n++)
      x[n] = (1 + 0.8 * Math.cos((2 * Math.PI * 23 * n) / fs)) * Math.sin((2 * Math.PI * 600 * n) / fs);
    const f = createSpectralFrontend(t, 1, fs, spec).run(x);
    const env = Array.from({ length: 128 }, (_, k) => f[k * 3 + 1]);
    expect(env.indexOf(Math.max(...env.slice(5)))).toBe(23);
  });

  it('rejects a bad window with FRONTEND_INVALID naming the field', () => {
    expect(() => createSpectralFrontend(1000, 1, 1000, spec)).toThrow(/windowLength/);
    expect(() => createSpectralFrontend(1024, 1, 1000, { ...spec, bins: 100 })).toThrow(/frontend\.bins/);
    const fe = createSpectralFrontend(1024, 1, 1024, spec);
    expect(() => fe.run(new Float32Array(10))).toThrow(FrontendError);
    expect(applyFrontend(new Float32Array(3), 3, 1, 10, { kind: 'none' }).length).toBe(3);
  });
});

describe('applyFrontend', () => {
  it('gives the same features as a fresh plan, call after call (cached plan, no state leak)', () => {
    const c = fixture.cases[0];
    const x = Float32Array.from(c.x);
    const fresh = createSpectralFrontend(c.windowLength, c.channels, c.sampleRateHz, c.frontend).run(x);
    const a = applyFrontend(x, c.windowLength, c.channels, c.sampleRateHz, c.frontend);
    const other = fixture.cases[1];
    applyFrontend(
      Float32Array.from(other.x),
      other.windowLength,
      other.channels,
      other.sampleRateHz,
      other.frontend,
    );
    const b = applyFrontend(x, c.windowLength, c.channels, c.sampleRateHz, c.frontend);
    expect(a).toEqual(fresh);
    expect(b).toEqual(fresh);
    expect(b).not.toBe(a); // each call returns its own array
  });
});
