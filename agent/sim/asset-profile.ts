// The randomized physical make-up of one simulated asset: speed, load, sensor, structure,
// bearing. Drawn once per asset seed; the ranges are those of small industrial fans, pumps and
// motors (600-3600 rpm, deep-groove or light angular-contact bearings, ICP accelerometers).
import type { Prng } from './prng.js';
import type { BearingGeometry } from './bearing.js';

export interface AssetProfile {
  /** nominal shaft speed; the actual speed drifts slowly around it */
  rpm: number;
  /** relative amplitude of the slow speed drift (sinusoidal, e.g. 0.005 = +-0.5 %) */
  speedDriftFrac: number;
  speedDriftPeriodSec: number;
  /** 0..1 of rated load: scales bearing impacts, misalignment forces and motor current */
  load: number;
  /** multiplicative sensor calibration error (x0.5 .. x2) applied to everything it measures */
  sensorGain: number;
  /** white sensor/electronics noise, m/s^2 RMS */
  noiseRms: number;
  /** first structural resonance the bearing impacts ring, Hz, and its damping ratio */
  resonanceHz: number;
  resonanceDamping: number;
  /** broadband mechanical noise (flow, friction) exciting the resonance, m/s^2 RMS input */
  structuralNoiseRms: number;
  /** healthy residual unbalance/misalignment at 1800 rpm, m/s^2 peak, and the 2x/1x ratio */
  residual1x: number;
  residual2xRatio: number;
  /** blade (or gear-tooth) count and its pass tone at 1800 rpm, m/s^2 peak */
  bladeCount: number;
  bladePassAmp: number;
  bearing: BearingGeometry;
  /** gain of the axial direction relative to radial for the healthy components */
  axialRatio: number;
}

export interface ProfileOverrides {
  rpm?: number;
  load?: number;
  sensorGain?: number;
  noiseRms?: number;
  resonanceHz?: number;
}

export const RPM_RANGE: readonly [number, number] = [600, 3600];

export function drawAssetProfile(rng: Prng, sampleRateHz: number, o: ProfileOverrides = {}): AssetProfile {
  // Draw every value even when overridden so an override does not shift the other draws.
  const rpm = rng.uniform(RPM_RANGE[0], RPM_RANGE[1]);
  const speedDriftFrac = rng.uniform(0.002, 0.008);
  const speedDriftPeriodSec = rng.uniform(20, 120);
  const load = rng.uniform(0.3, 1);
  const sensorGain = Math.exp(rng.uniform(Math.log(0.5), Math.log(2)));
  const noiseRms = Math.exp(rng.uniform(Math.log(0.01), Math.log(0.08)));
  // Keep the resonance (and its ringing) comfortably below Nyquist.
  const resonanceHz = Math.min(rng.uniform(1500, 4000), 0.42 * sampleRateHz);
  const resonanceDamping = rng.uniform(0.02, 0.08);
  const structuralNoiseRms = Math.exp(rng.uniform(Math.log(0.01), Math.log(0.06)));
  const residual1x = rng.uniform(0.03, 0.12);
  const residual2xRatio = rng.uniform(0.3, 0.7);
  const bladeCount = rng.int(3, 12);
  const bladePassAmp = rng.uniform(0.01, 0.06);
  const pitchDiameterMm = rng.uniform(25, 100);
  const ballDiameterMm = pitchDiameterMm * rng.uniform(0.18, 0.3);
  const bearing: BearingGeometry = {
    ballCount: rng.int(7, 13),
    ballDiameterMm,
    pitchDiameterMm,
    contactAngleDeg: rng.next() < 0.6 ? 0 : rng.uniform(5, 15),
  };
  const axialRatio = rng.uniform(0.2, 0.5);
  return {
    rpm: o.rpm ?? rpm,
    speedDriftFrac,
    speedDriftPeriodSec,
    load: o.load ?? load,
    sensorGain: o.sensorGain ?? sensorGain,
    noiseRms: o.noiseRms ?? noiseRms,
    resonanceHz: o.resonanceHz ?? resonanceHz,
    resonanceDamping,
    structuralNoiseRms,
    residual1x,
    residual2xRatio,
    bladeCount,
    bladePassAmp,
    bearing,
    axialRatio,
  };
}
