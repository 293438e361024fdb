import { describe, expect, it } from 'vitest';
import { createVibrationSource } from '../../agent/sim/vibration-source.js';
import { createSlowChannelSource } from '../../agent/sim/slow-channel-source.js';
import { createPrng } from '../../agent/sim/prng.js';
import { defectOrders } from '../../agent/sim/bearing.js';
import { FAULT_KINDS } from '../../agent/sim/faults.js';
import { createSpectralFrontend } from '../../agent/inference/frontend.js';

const FS = 8192;
const T = 8192; // 1 s window: 1 Hz bins
const fe = createSpectralFrontend(T, 1, FS, {
  kind: 'spectral',
  bins: 512,
  bandLowHz: 500,
  bandHighHz: 4000,
});

/** spectrum (0) or envelope (1) feature channel, 0..511 Hz */
function channel(x: Float32Array, j: 0 | 1): number[] {
  const f = fe.run(x);
  return Array.from({ length: 512 }, (_, k) => f[k * 3 + j]);
}
function peakNear(v: number[], hz: number, tol = 2): number {
  let best = -Infinity;
  for (let k = Math.max(0, Math.floor(hz - tol)); k <= Math.min(511, Math.ceil(hz + tol)); k++)
    best = Math.max(best, v[k]);
  return best;
}
function argmax(v: number[], from = 3): number {
  let k = from;
  for (let i = from; i < v.length; i++) if (v[i] > v[k]) k = i;
  return k;
}
function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s[s.length >> 1];
}

describe('prng', () => {
  it('is deterministic, in [0, 1), and forks independent streams', () => {
    const a = createPrng(42);
    const b = createPrng(42);
    const xs = Array.from({ length: 1000 }, () => a.next());
    expect(xs).toEqual(Array.from({ length: 1000 }, () => b.next()));
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    const mean = xs.reduce((s, v) => s + v, 0) / xs.length;
    expect(mean).toBeGreaterThan(0.45);
    expect(mean).toBeLessThan(0.55);
    expect(createPrng(42).fork('x').next()).not.toBe(createPrng(42).fork('y').next());
    const g = createPrng(7);
    const ns = Array.from({ length: 20000 }, () => g.normal());
    const m = ns.reduce((s, v) => s + v, 0) / ns.length;
    const sd = Math.sqrt(ns.reduce((s, v) => s + (v - m) ** 2, 0) / ns.length);
    expect(Math.abs(m)).toBeLessThan(0.03);
    expect(Math.abs(sd - 1)).toBeLessThan(0.03);
  });
});

describe('bearing kinematics', () => {
  it('gives the textbook defect orders of a 6205 bearing', () => {
    // SKF 6205: 9 balls, 7.94 mm, pitch 39.04 mm -> BPFO 3.585, BPFI 5.415, BSF 2.357, FTF 0.398
    const o = defectOrders({
      ballCount: 9,
      ballDiameterMm: 7.94,
      pitchDiameterMm: 39.04,
      contactAngleDeg: 0,
    });
    expect(o.bpfo).toBeCloseTo(3.585, 2);
    expect(o.bpfi).toBeCloseTo(5.415, 2);
    expect(o.bsf).toBeCloseTo(2.357, 2);
    expect(o.ftf).toBeCloseTo(0.398, 2);
  });
});

describe('vibration source', () => {
  it('is deterministic per seed and differs between seeds', () => {
    for (const fault of FAULT_KINDS) {
      const a = createVibrationSource({ seed: 5, fault }).next(2000);
      const b = createVibrationSource({ seed: 5, fault }).next(2000);
      expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
      const c = createVibrationSource({ seed: 6, fault }).next(2000);
      expect(Buffer.from(a.buffer).equals(Buffer.from(c.buffer))).toBe(false);
    }
  });

  it('is continuous across blocks: any chunking yields the same samples', () => {
    for (const fault of ['looseness', 'bearing_ball'] as const) {
      const whole = createVibrationSource({ seed: 9, fault, axes: ['radial', 'axial'] }).next(5000);
      const src = createVibrationSource({ seed: 9, fault, axes: ['radial', 'axial'] });
      const parts = [src.next(1), src.next(999), src.next(0), src.next(1777), src.next(2223)];
      const joined = new Float32Array(10000);
      let off = 0;
      for (const p of parts) {
        joined.set(p, off);
        off += p.length;
      }
      expect(joined).toEqual(whole);
      expect(src.position).toBe(5000);
    }
  });

  it('imbalance: the dominant line is 1x running speed, within a bin', () => {
    for (const [seed, rpm] of [
      [1, 900],
      [2, 1500],
      [3, 3300],
    ]) {
      const src = createVibrationSource({ seed, fault: 'imbalance', severity: 0.5, rpm });
      const spec = channel(src.next(T), 0);
      expect(Math.abs(argmax(spec) - rpm / 60)).toBeLessThanOrEqual(1);
    }
  });

  it('misalignment: 2x dominates 1x, and the axial direction carries more of it than radial', () => {
    const src = createVibrationSource({
      seed: 4,
      fault: 'misalignment',
      severity: 0.8,
      rpm: 1740,
      axes: ['radial', 'axial'],
    });
    const x = src.next(T);
    const radial = x.filter((_, i) => i % 2 === 0);
    const axial = x.filter((_, i) => i % 2 === 1);
    const fr = 1740 / 60;
    const r = channel(radial, 0);
    expect(peakNear(r, 2 * fr, 1)).toBeGreaterThan(peakNear(r, fr, 1));
    // centered log spectra: compare raw 2x amplitudes via the RMS of the two directions instead
    const rms = (v: Float32Array) => Math.sqrt(v.reduce((s, a) => s + a * a, 0) / v.length);
    expect(rms(axial)).toBeGreaterThan(rms(radial) * 0.8);
    const healthy = createVibrationSource({ seed: 4, rpm: 1740, axes: ['radial', 'axial'] }).next(T);
    expect(rms(healthy.filter((_, i) => i % 2 === 1))).toBeLessThan(rms(axial) / 5);
  });

  it('looseness: many harmonics and half-order sub-harmonics above the floor', () => {
    const rpm = 1200;
    const fr = rpm / 60;
    const spec = channel(
      createVibrationSource({ seed: 11, fault: 'looseness', severity: 0.7, rpm }).next(T),
      0,
    );
    const floor = median(spec);
    let harmonics = 0;
    for (let k = 1; k <= 12; k++) if (peakNear(spec, k * fr, 1) > floor + 3) harmonics++;
    expect(harmonics).toBeGreaterThanOrEqual(8);
    for (const h of [0.5, 1.5, 2.5]) expect(peakNear(spec, h * fr, 1)).toBeGreaterThan(floor + 3);
    const healthy = channel(createVibrationSource({ seed: 11, rpm }).next(T), 0);
    expect(peakNear(healthy, 0.5 * fr, 1)).toBeLessThan(median(healthy) + 2);
  });

  it('bearing_outer: the envelope spectrum shows BPFO and its 2nd harmonic; healthy does not', () => {
    const rpm = 1800;
    const src = createVibrationSource({ seed: 21, fault: 'bearing_outer', severity: 0.5, rpm });
    const bpfo = src.orders.bpfo * (rpm / 60);
    const env = channel(src.next(T), 1);
    expect(Math.abs(argmax(env) - bpfo)).toBeLessThanOrEqual(2);
    if (2 * bpfo < 500) expect(peakNear(env, 2 * bpfo)).toBeGreaterThan(median(env) + 2);
    const healthy = channel(createVibrationSource({ seed: 21, rpm }).next(T), 1);
    expect(peakNear(healthy, bpfo)).toBeLessThan(median(healthy) + 2);
  });

  it('bearing_inner: BPFI in the envelope with 1x (load-zone modulation)', () => {
    const rpm = 1200;
    const fr = rpm / 60;
    const src = createVibrationSource({ seed: 22, fault: 'bearing_inner', severity: 0.6, rpm });
    const bpfi = src.orders.bpfi * fr;
    const env = channel(src.next(T), 1);
    const floor = median(env);
    expect(peakNear(env, bpfi)).toBeGreaterThan(floor + 2);
    expect(peakNear(env, fr, 1)).toBeGreaterThan(floor + 2);
    expect(peakNear(env, bpfi - fr)).toBeGreaterThan(floor + 1.5); // sideband
  });

  it('bearing_ball: 2xBSF and BSF (alternating race contact) and the cage rate in the envelope', () => {
    const rpm = 1500;
    const fr = rpm / 60;
    const src = createVibrationSource({ seed: 23, fault: 'bearing_ball', severity: 0.6, rpm });
    const env = channel(src.next(T), 1);
    const floor = median(env);
    expect(peakNear(env, 2 * src.orders.bsf * fr)).toBeGreaterThan(floor + 2);
    expect(peakNear(env, src.orders.bsf * fr)).toBeGreaterThan(floor + 2);
    expect(peakNear(env, src.orders.ftf * fr, 1)).toBeGreaterThan(floor + 1.5);
  });

  it('impacts ring the structural resonance: band energy peaks near resonanceHz', () => {
    const src = createVibrationSource({
      seed: 24,
      fault: 'bearing_outer',
      severity: 0.8,
      rpm: 1800,
      resonanceHz: 2600,
    });
    const f = fe.run(src.next(T));
    const band = Array.from({ length: 512 }, (_, j) => f[j * 3 + 2]); // 8 Hz groups
    expect(Math.abs(argmax(band, 1) * 8 - 2600)).toBeLessThan(150);
  });

  it('scales with sensor gain and speed drift stays small', () => {
    const a = createVibrationSource({ seed: 3, sensorGain: 1 }).next(100);
    const b = createVibrationSource({ seed: 3, sensorGain: 2 }).next(100);
    for (let i = 0; i < 100; i++) expect(b[i]).toBeCloseTo(2 * a[i], 4);
    const src = createVibrationSource({ seed: 3, rpm: 1000 });
    for (let i = 0; i < 10; i++) {
      src.next(8192);
      expect(Math.abs(src.currentRpm() - 1000)).toBeLessThan(10);
    }
    const g = createVibrationSource({ seed: 3, sensorGain: 1, unit: 'g' }).next(100);
    expect(g[5]).toBeCloseTo(a[5] / 9.80665, 6);
  });

  it('rejects bad options with SIM_INVALID_OPTION naming the field', () => {
    expect(() => createVibrationSource({ seed: 1, fault: 'imbalance', severity: 1.5 })).toThrow(/severity/);
    expect(() => createVibrationSource({ seed: 1, fault: 'healthy', severity: 0.5 })).toThrow(
      /severity 0 for fault healthy/,
    );
    expect(() => createVibrationSource({ seed: 1, fault: 'broken' as never })).toThrow(/fault/);
    expect(() => createVibrationSource({ seed: 1.5 })).toThrow(/seed/);
    try {
      createVibrationSource({ seed: 1, rpm: -5 });
      expect.unreachable();
    } catch (err) {
      expect((err as { code: string }).code).toBe('SIM_INVALID_OPTION');
      expect((err as Error).message).toMatch(/rpm but received -5/);
    }
  });
});

describe('slow channel source', () => {
  it('is deterministic and continuous; bearing faults run hotter, load draws current', () => {
    const whole = createSlowChannelSource({ seed: 2, fault: 'bearing_inner', severity: 1 }).next(100);
    const s = createSlowChannelSource({ seed: 2, fault: 'bearing_inner', severity: 1 });
    const joined = new Float32Array(200);
    joined.set(s.next(30), 0);
    joined.set(s.next(70), 60);
    expect(joined).toEqual(whole);
    const temp = (fault: 'healthy' | 'bearing_inner', sev: number) => {
      const x = createSlowChannelSource({ seed: 2, fault, severity: sev, load: 0.5 }).next(3600 * 3);
      return x[x.length - 1];
    };
    expect(temp('bearing_inner', 1) - temp('healthy', 0)).toBeGreaterThan(10);
    const cur = (load: number) => createSlowChannelSource({ seed: 2, load }).next(1)[0];
    expect(cur(1)).toBeGreaterThan(cur(0.3) * 1.5);
  });
});
