// Accelerometer signal of a rotating machine (m/s^2), healthy or with one fault of a given
// severity. Everything is generated sample by sample from running phase accumulators and filter
// state, so consecutive next(n) calls form one continuous signal (block boundaries are invisible)
// and the same seed always yields the same samples.
//
// Signal model (amplitudes at 1800 rpm; forces from rotating masses scale with speed^2):
// - healthy: residual 1x and 2x, blade-pass tone (bladeCount x), 2x line-frequency magnetic hum,
//   broadband flow/friction noise ringing the structural resonance, white sensor noise;
// - imbalance: a strong 1x (radial; weak axial);
// - misalignment: 2x dominant with 1x and some 3x, strong in the axial direction;
// - looseness: a truncated (one-sided clipped) 1x + 0.5x waveform -> many harmonics and
//   half-order sub-harmonics, plus an explicit decaying harmonic series;
// - bearing_outer / bearing_inner / bearing_ball: impacts every 1/BPFO, 1/BPFI, 1/(2 BSF) shaft
//   revolutions (the ball strikes both races per spin), each +-slip jittered (1-2 %), each
//   ringing the structural resonance (a damped 2-pole resonator). Inner-race impacts are
//   amplitude-modulated by the load zone at 1x; ball impacts at the cage rate (FTF) and
//   alternately strong/weak (outer/inner race contact).
import { createPrng } from './prng.js';
import { defectOrders, type DefectOrders } from './bearing.js';
import { drawAssetProfile, type AssetProfile, type ProfileOverrides } from './asset-profile.js';
import { checkRange, isFaultKind, SimError, type FaultKind } from './faults.js';

export type VibrationAxis = 'radial' | 'axial';

export interface VibrationSourceOptions extends ProfileOverrides {
  seed: number;
  fault?: FaultKind;
  /** 0 (incipient) .. 1 (severe); healthy takes 0. Default 0.7 for a fault. */
  severity?: number;
  sampleRateHz?: number;
  /** measured directions, in output order; default ['radial'] */
  axes?: VibrationAxis[];
  /** output unit; default m/s^2 */
  unit?: 'm/s2' | 'g';
  /** mains frequency for the magnetic hum at 2x line; default drawn from {50, 60} */
  lineHz?: number;
}

export interface VibrationSource {
  readonly sampleRateHz: number;
  readonly axes: readonly VibrationAxis[];
  readonly fault: FaultKind;
  readonly severity: number;
  readonly profile: AssetProfile;
  /** bearing defect frequencies in shaft orders (multiply by rpm/60 for Hz) */
  readonly orders: DefectOrders;
  /** samples produced so far (per axis) */
  readonly position: number;
  /** the instantaneous shaft speed, rpm */
  currentRpm(): number;
  /** next n samples per axis, time-major: sample t, axis a at [t * axes.length + a] */
  next(n: number): Float32Array;
}

const G = 9.80665;
const REF_RPM = 1800;

/** severity-1 amplitudes at 1800 rpm (m/s^2 peak) */
const IMBALANCE_AMP = 3.0;
const MISALIGNMENT_AMP = 2.5;
const LOOSENESS_AMP = 2.0;
const BEARING_IMPACT_AMP = 15;

export function createVibrationSource(options: VibrationSourceOptions): VibrationSource {
  const fault = options.fault ?? 'healthy';
  if (!isFaultKind(fault)) {
    throw new SimError('SIM_INVALID_OPTION', `Expected a fault kind for fault but received ${String(fault)}`);
  }
  const severity = options.severity ?? (fault === 'healthy' ? 0 : 0.7);
  checkRange('severity', severity, 0, 1);
  if (fault === 'healthy' && severity !== 0) {
    throw new SimError(
      'SIM_INVALID_OPTION',
      `Expected severity 0 for fault healthy but received ${severity}`,
    );
  }
  const fs = options.sampleRateHz ?? 8192;
  checkRange('sampleRateHz', fs, 100, 200000);
  if (options.rpm !== undefined) checkRange('rpm', options.rpm, 60, 30000);
  if (options.load !== undefined) checkRange('load', options.load, 0, 1);
  if (options.sensorGain !== undefined) checkRange('sensorGain', options.sensorGain, 1e-3, 1e3);
  if (options.noiseRms !== undefined) checkRange('noiseRms', options.noiseRms, 0, 1e3);
  if (options.resonanceHz !== undefined) checkRange('resonanceHz', options.resonanceHz, 10, 0.45 * fs);
  const axes = options.axes ?? ['radial'];
  if (axes.length === 0 || axes.some((a) => a !== 'radial' && a !== 'axial')) {
    throw new SimError(
      'SIM_INVALID_OPTION',
      `Expected axes from [radial, axial] but received ${JSON.stringify(axes)}`,
    );
  }
  const unitScale = options.unit === 'g' ? 1 / G : 1;

  const root = createPrng(options.seed);
  const profile = drawAssetProfile(root.fork('profile'), fs, options);
  const orders = defectOrders(profile.bearing);
  const ph = root.fork('phases');
  const phase = (): number => ph.uniform(0, 2 * Math.PI);
  const noiseRng = root.fork('noise');
  const impactRng = root.fork('impacts');
  const faultRng = root.fork('fault');

  // --- per-asset constants ---------------------------------------------------------------
  const lineHz = options.lineHz ?? (ph.next() < 0.5 ? 50 : 60);
  const humAmp = ph.uniform(0.003, 0.02);
  const p1 = phase();
  const p2 = phase();
  const pBlade = phase();
  const pHum = phase();
  const pDrift = phase();
  const pImb = phase();
  const mis = [phase(), phase(), phase()];
  const misRatio1x = faultRng.uniform(0.3, 0.6);
  const misRatio3x = faultRng.uniform(0.1, 0.3);
  const pLoose = phase();
  const pLooseHalf = phase();
  const looseClip = faultRng.uniform(0.2, 0.5); // truncation level relative to the peak
  const looseHarm: { k: number; amp: number; phase: number }[] = [];
  for (let k = 2; k <= 12; k++) looseHarm.push({ k, amp: faultRng.uniform(0.1, 0.3) / k, phase: phase() });
  for (const k of [1.5, 2.5, 3.5]) looseHarm.push({ k, amp: faultRng.uniform(0.05, 0.15), phase: phase() });
  const slip = faultRng.uniform(0.01, 0.02);
  const modDepth = faultRng.uniform(0.5, 0.9);
  const pMod = phase();

  // Structural resonance: y[n] = c1 y[n-1] - c2 y[n-2] + sin(wd) u[n]; peak impulse response ~1.
  const wn = (2 * Math.PI * profile.resonanceHz) / fs;
  const zeta = profile.resonanceDamping;
  const wd = wn * Math.sqrt(1 - zeta * zeta);
  const r = Math.exp(-zeta * wn);
  const c1 = 2 * r * Math.cos(wd);
  const c2 = r * r;
  const sinWd = Math.sin(wd);
  // White input of unit variance -> output variance; used to set the broadband noise level.
  let powerGain = 0;
  {
    let y1 = 0;
    let y2 = 0;
    for (let i = 0, u = sinWd; i < 20000; i++, u = 0) {
      const y = c1 * y1 - c2 * y2 + u;
      powerGain += y * y;
      y2 = y1;
      y1 = y;
    }
  }
  const structuralInput = profile.structuralNoiseRms / Math.sqrt(powerGain);

  const isBearing = fault === 'bearing_outer' || fault === 'bearing_inner' || fault === 'bearing_ball';
  const impactOrder =
    fault === 'bearing_outer' ? orders.bpfo : fault === 'bearing_inner' ? orders.bpfi : 2 * orders.bsf;
  const impactAmp = severity * BEARING_IMPACT_AMP * (0.6 + 0.4 * profile.load);
  const misLoad = 0.7 + 0.3 * profile.load;
  const nAxes = axes.length;
  const axial = axes.map((a) => a === 'axial');

  // --- running state -----------------------------------------------------------------------
  let n = 0; // samples emitted
  let rev = 0; // shaft revolutions, wrapped modulo 2 (0.5x needs two revolutions)
  let cageRev = 0; // cage revolutions modulo 1
  let untilImpact = isBearing ? impactRng.uniform(0, 1 / impactOrder) : Infinity; // revolutions
  let impactCount = 0;
  const ringY1 = new Float64Array(nAxes);
  const ringY2 = new Float64Array(nAxes);

  const rpmAt = (sample: number): number =>
    profile.rpm *
    (1 +
      profile.speedDriftFrac *
        Math.sin((2 * Math.PI * sample) / (fs * profile.speedDriftPeriodSec) + pDrift));

  const twoPi = 2 * Math.PI;
  const nyq = 0.45 * fs;

  function next(count: number): Float32Array {
    if (!Number.isInteger(count) || count < 0) {
      throw new SimError('SIM_INVALID_OPTION', `Expected non-negative integer for n but received ${count}`);
    }
    const out = new Float32Array(count * nAxes);
    for (let i = 0; i < count; i++, n++) {
      const rpm = rpmAt(n);
      const fr = rpm / 60;
      const speed = rpm / REF_RPM;
      const sf = speed * speed; // centrifugal forces
      const th = twoPi * rev;

      // periodic (shaft-locked) components, radial and axial
      // Tones above 0.45 fs are left out (a real sensor's anti-alias filter); at the usual rates
      // (>= 4 kHz) every tone is kept, low rates only matter for slow formats.
      const k1 = fr < nyq ? 1 : 0;
      const k2 = 2 * fr < nyq ? 1 : 0;
      const res1 = k1 * profile.residual1x * sf * Math.sin(th + p1);
      const res2 = k2 * profile.residual1x * profile.residual2xRatio * sf * Math.sin(2 * th + p2);
      const blade =
        profile.bladeCount * fr < nyq
          ? profile.bladePassAmp * sf * Math.sin(profile.bladeCount * th + pBlade)
          : 0;
      const hum = 2 * lineHz < nyq ? humAmp * Math.sin((twoPi * 2 * lineHz * n) / fs + pHum) : 0;
      let radial = res1 + res2 + blade + hum;
      let ax = profile.axialRatio * (res1 + res2) + 0.3 * blade + 0.5 * hum;

      switch (fault) {
        case 'imbalance': {
          const v = k1 * severity * IMBALANCE_AMP * sf * Math.sin(th + pImb);
          radial += v;
          ax += 0.15 * v;
          break;
        }
        case 'misalignment': {
          const a = severity * MISALIGNMENT_AMP * sf * misLoad;
          const v =
            a *
            (k1 * misRatio1x * Math.sin(th + mis[0]) +
              k2 * Math.sin(2 * th + mis[1]) +
              (3 * fr < nyq ? misRatio3x * Math.sin(3 * th + mis[2]) : 0));
          radial += v;
          ax += 1.3 * v;
          break;
        }
        case 'looseness': {
          const a = severity * LOOSENESS_AMP * sf;
          // one-sided truncation: the loose foot lifts and hits its stop
          const w = Math.min(Math.sin(th + pLoose) + 0.5 * Math.sin(0.5 * th + pLooseHalf), looseClip);
          let v = w;
          for (const h of looseHarm) if (h.k * fr < nyq) v += h.amp * Math.sin(h.k * th + h.phase);
          radial += a * v;
          ax += 0.4 * a * v;
          break;
        }
        default:
          break;
      }

      // impacts (bearing faults) and broadband excitation ring the structural resonance
      let impulse = 0;
      if (isBearing) {
        untilImpact -= fr / fs;
        if (untilImpact <= 0) {
          let q = 1;
          if (fault === 'bearing_inner') q = 1 - modDepth + modDepth * (0.5 + 0.5 * Math.cos(th + pMod));
          else if (fault === 'bearing_ball') {
            q = 1 - modDepth + modDepth * (0.5 + 0.5 * Math.cos(twoPi * cageRev + pMod));
            if (impactCount % 2 === 1) q *= 0.6; // inner-race contact of the spinning ball
          }
          const jitterAmp = 1 + 0.2 * impactRng.normal();
          impulse = impactAmp * speed * q * Math.max(0.2, jitterAmp);
          untilImpact += (1 / impactOrder) * (1 + slip * impactRng.normal());
          impactCount++;
        }
      }
      for (let a = 0; a < nAxes; a++) {
        const u = sinWd * (axial[a] ? 0.5 * impulse : impulse) + structuralInput * speed * noiseRng.normal();
        const y = c1 * ringY1[a] - c2 * ringY2[a] + u;
        ringY2[a] = ringY1[a];
        ringY1[a] = y;
        const mech = (axial[a] ? ax : radial) + y;
        out[i * nAxes + a] = unitScale * profile.sensorGain * (mech + profile.noiseRms * noiseRng.normal());
      }

      rev += fr / fs;
      if (rev >= 2) rev -= 2;
      cageRev += (orders.ftf * fr) / fs;
      if (cageRev >= 1) cageRev -= 1;
    }
    return out;
  }

  return {
    sampleRateHz: fs,
    axes,
    fault,
    severity,
    profile,
    orders,
    get position() {
      return n;
    },
    currentRpm: () => rpmAt(n),
    next,
  };
}
