#!/usr/bin/env node
// Writes simulated vibration windows for training/validating rotating-vib.
// Needs the compiled simulator: `npm run build:ts` first (imports dist/agent/sim/).
//
//   node scripts/train/gen_sim_data.mjs --out DIR --split train --seed-base 100000 \
//     --assets-per-class 1000 --windows-per-asset 4 [--rpm 600:3600] [--exclude-rpm 1700:2100] \
//     [--severity 0.2:1] [--sample-rate 8192] [--window 8192]
//
// Output: DIR/<split>.f32 (float32 little-endian, windows back to back, each `window` samples,
// one channel) and DIR/<split>.json (config + per-window label, seed, rpm, severity, ...).
// Every asset is one simulator seed (its own speed, load, sensor gain, noise, resonance,
// bearing); its windows are consecutive 1-window stretches after a short warm-up.
import { openSync, writeSync, closeSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { createVibrationSource } = await import(path.join(root, 'dist/agent/sim/vibration-source.js'));
const { createPrng } = await import(path.join(root, 'dist/agent/sim/prng.js'));
const { FAULT_KINDS } = await import(path.join(root, 'dist/agent/sim/faults.js'));

function parseArgs(argv) {
  const a = {
    out: '',
    split: 'train',
    seedBase: 100000,
    assetsPerClass: 100,
    windowsPerAsset: 4,
    rpm: [600, 3600],
    excludeRpm: null,
    severity: [0.2, 1],
    sampleRate: 8192,
    window: 8192,
    warmup: 2048,
  };
  const range = (v) => v.split(':').map(Number);
  for (let i = 2; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (v === undefined) throw new Error(`missing value for ${k}`);
    switch (k) {
      case '--out':
        a.out = v;
        break;
      case '--split':
        a.split = v;
        break;
      case '--seed-base':
        a.seedBase = Number(v);
        break;
      case '--assets-per-class':
        a.assetsPerClass = Number(v);
        break;
      case '--windows-per-asset':
        a.windowsPerAsset = Number(v);
        break;
      case '--rpm':
        a.rpm = range(v);
        break;
      case '--exclude-rpm':
        a.excludeRpm = range(v);
        break;
      case '--severity':
        a.severity = range(v);
        break;
      case '--sample-rate':
        a.sampleRate = Number(v);
        break;
      case '--window':
        a.window = Number(v);
        break;
      case '--warmup':
        a.warmup = Number(v);
        break;
      default:
        throw new Error(`unknown option ${k}`);
    }
  }
  if (!a.out) throw new Error('--out DIR is required');
  return a;
}

const args = parseArgs(process.argv);
mkdirSync(args.out, { recursive: true });
const pick = createPrng(args.seedBase).fork(`gen:${args.split}`);
const drawRpm = () => {
  for (;;) {
    const rpm = pick.uniform(args.rpm[0], args.rpm[1]);
    if (!args.excludeRpm || rpm < args.excludeRpm[0] || rpm > args.excludeRpm[1]) return rpm;
  }
};

const fd = openSync(path.join(args.out, `${args.split}.f32`), 'w');
const windows = [];
let seed = args.seedBase;
const t0 = Date.now();
// Classes interleaved asset by asset so a partial file is still balanced.
for (let a = 0; a < args.assetsPerClass; a++) {
  for (let label = 0; label < FAULT_KINDS.length; label++) {
    const fault = FAULT_KINDS[label];
    const rpm = drawRpm();
    const severity = fault === 'healthy' ? 0 : pick.uniform(args.severity[0], args.severity[1]);
    const src = createVibrationSource({ seed, fault, severity, rpm, sampleRateHz: args.sampleRate });
    src.next(args.warmup);
    for (let w = 0; w < args.windowsPerAsset; w++) {
      const x = src.next(args.window);
      writeSync(fd, Buffer.from(x.buffer, x.byteOffset, x.byteLength));
      windows.push({
        label,
        seed,
        rpm: Math.round(rpm * 10) / 10,
        severity: Math.round(severity * 1000) / 1000,
        sensorGain: Math.round(src.profile.sensorGain * 1000) / 1000,
        resonanceHz: Math.round(src.profile.resonanceHz),
      });
    }
    seed++;
  }
  if (a % 100 === 99)
    process.stderr.write(
      `${args.split}: ${a + 1}/${args.assetsPerClass} assets per class, ${((Date.now() - t0) / 1000).toFixed(0)} s\n`,
    );
}
closeSync(fd);
writeFileSync(
  path.join(args.out, `${args.split}.json`),
  JSON.stringify({ ...args, labels: FAULT_KINDS, channels: ['accel'], count: windows.length, windows }),
);
process.stderr.write(
  `${args.split}: ${windows.length} windows in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`,
);
