// The slow process channels of a motor-driven pump: motor current (A RMS) and bearing-housing
// temperature (deg C), sampled at a low rate (default 1 Hz). Deterministic from the seed and
// continuous across next() calls like the vibration source.
//
// Model: current = rated * (0.25 + 0.75 load) * (1 + fault extra) with a slow process ripple and
// meter noise; mechanical faults that add friction or cyclic load raise it a little (imbalance,
// misalignment) or make it fluctuate (looseness). Temperature follows a first-order lag (time
// constant tau) toward ambient + load heating + fault heating (bearing faults heat most).
import { createPrng } from './prng.js';
import { checkRange, isFaultKind, SimError, type FaultKind } from './faults.js';

export const SLOW_CHANNELS = ['current', 'temperature'] as const;

export interface SlowChannelOptions {
  seed: number;
  fault?: FaultKind;
  severity?: number;
  sampleRateHz?: number;
  load?: number;
}

export interface SlowChannelSource {
  readonly sampleRateHz: number;
  readonly channels: readonly string[];
  readonly ratedCurrentA: number;
  /** next n samples, time-major: [current, temperature] per sample */
  next(n: number): Float32Array;
}

const FAULT_HEAT_C: Record<FaultKind, number> = {
  healthy: 0,
  imbalance: 4,
  misalignment: 10,
  looseness: 3,
  bearing_outer: 15,
  bearing_inner: 18,
  bearing_ball: 12,
};
const FAULT_CURRENT: Record<FaultKind, number> = {
  healthy: 0,
  imbalance: 0.03,
  misalignment: 0.06,
  looseness: 0.02,
  bearing_outer: 0.02,
  bearing_inner: 0.02,
  bearing_ball: 0.015,
};

export function createSlowChannelSource(options: SlowChannelOptions): SlowChannelSource {
  const fault = options.fault ?? 'healthy';
  if (!isFaultKind(fault))
    throw new SimError('SIM_INVALID_OPTION', `Expected a fault kind for fault but received ${String(fault)}`);
  const severity = options.severity ?? (fault === 'healthy' ? 0 : 0.7);
  checkRange('severity', severity, 0, 1);
  const fs = options.sampleRateHz ?? 1;
  checkRange('sampleRateHz', fs, 0.001, 1000);
  const rng = createPrng(options.seed).fork('slow');
  const noise = createPrng(options.seed).fork('slow-noise');
  const ratedCurrentA = rng.uniform(5, 60);
  const load = options.load ?? rng.uniform(0.3, 1);
  checkRange('load', load, 0, 1);
  const ambientC = rng.uniform(15, 35);
  const loadRiseC = rng.uniform(10, 30);
  const tauSec = rng.uniform(300, 1200);
  const ripplePeriodSec = rng.uniform(30, 300);
  const ripplePhase = rng.uniform(0, 2 * Math.PI);
  const loosePeriodSec = rng.uniform(2, 10);
  const targetC = ambientC + loadRiseC * load + FAULT_HEAT_C[fault] * severity;
  // start part-way warmed up so a short run already shows the asset's level
  let tempC = ambientC + (targetC - ambientC) * rng.uniform(0.6, 1);
  let n = 0;
  const alpha = 1 - Math.exp(-1 / (fs * tauSec));

  return {
    sampleRateHz: fs,
    channels: SLOW_CHANNELS,
    ratedCurrentA,
    next(count: number): Float32Array {
      if (!Number.isInteger(count) || count < 0) {
        throw new SimError('SIM_INVALID_OPTION', `Expected non-negative integer for n but received ${count}`);
      }
      const out = new Float32Array(count * 2);
      for (let i = 0; i < count; i++, n++) {
        const t = n / fs;
        let rel = (0.25 + 0.75 * load) * (1 + FAULT_CURRENT[fault] * severity);
        rel *= 1 + 0.02 * Math.sin((2 * Math.PI * t) / ripplePeriodSec + ripplePhase);
        if (fault === 'looseness') rel *= 1 + 0.03 * severity * Math.sin((2 * Math.PI * t) / loosePeriodSec);
        tempC += alpha * (targetC - tempC);
        out[2 * i] = ratedCurrentA * rel + 0.005 * ratedCurrentA * noise.normal();
        out[2 * i + 1] = tempC + 0.1 * noise.normal();
      }
      return out;
    },
  };
}
