// Held-out windows for scripts/experiments/gelu_lut_study.py: the ones scripts/build-bundles.sh
// build_rotating_vib evaluates the int8 engine on (same seeds and rpm ranges). Needs `npm run build`.
//   node scripts/experiments/gelu_lut_holdout.mjs   (writes $GELU_LUT_OUT/rv_holdout.f32/.json, default /tmp/gelu_lut)
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const dir = `${root}/models/rotating-vib`;
const out = process.env.GELU_LUT_OUT ?? '/tmp/gelu_lut';
mkdirSync(out, { recursive: true });
const stem = `${out}/rv_holdout`;
const { simulateWindows } = await import(`${root}/dist/agent/eval/sim.js`);
const { encodeWindows } = await import(`${root}/dist/agent/model/window-file.js`);
const { readOnnx } = await import(`${root}/dist/agent/model/onnx-reader.js`);
const { hyperparametersFromOnnxMetadata } = await import(`${root}/dist/agent/model/tst-hyperparameters.js`);
const h = hyperparametersFromOnnxMetadata(readOnnx(readFileSync(`${dir}/model.onnx`)).metadata);
let band = [1700, 2100];
try {
  const t = JSON.parse(readFileSync(`${dir}/training.json`, 'utf8'));
  band = Object.values(t.data ?? {}).find((s) => s && s.excludeRpm)?.excludeRpm ?? band;
} catch {
  // no training.json: the default band (as build-bundles.sh)
}
const sim = (seedBase, rpm) =>
  simulateWindows({
    labels: h.labels,
    count: 700,
    seedBase,
    ranges: { rpm, severity: [0.2, 1] },
    windowLength: h.windowLength,
    sampleRateHz: h.sampleRateHz,
    axes: ['radial'],
  });
const w = [...sim(40_000_000, band), ...sim(41_000_000, [600, 3600])];
const enc = encodeWindows(
  w.map((x) => x.x),
  { windowLength: h.windowLength, channels: h.channelCount, channelNames: h.channelNames },
  w.map((x) => x.label),
);
writeFileSync(`${stem}.f32`, enc.data);
writeFileSync(`${stem}.json`, enc.descriptor);
process.stderr.write(
  `held-out: 700 windows at ${band.join('..')} rpm (seeds 40000000..) + 700 at 600..3600 rpm (seeds 41000000..)\n`,
);
