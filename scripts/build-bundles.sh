#!/usr/bin/env bash
# Rebuilds the shipped model bundles from what training committed (model.onnx, training.json,
# calib.f32 + calib.json) and verifies them:
#   models/rotating-vib: int8 vs fp32 checked on 1400 freshly simulated held-out windows (seeds
#     40000000.. in the speed band training held out, 41000000.. over all speeds), then
#     `vigil eval sim`;
#   models/pump-skab: checked on training's site-transformed held-out windows (heldout.json).
# Each manifest keeps its `created` time, so a rebuild with the same inputs changes nothing but
# tool versions. Usage: scripts/build-bundles.sh [rotating-vib|pump-skab]...
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ ! -f build/Release/vigil_addon.node ]]; then npm run build:addon; fi
npm run build:ts >/dev/null
vigil() { node dist/agent/cli/main.js "$@"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

created_of() { # keep the creation time of an existing manifest
  if [[ -f "$1/manifest.json" ]]; then node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1]+"/manifest.json","utf8")).created)' "$1"; fi
}

build_rotating_vib() {
  local dir=models/rotating-vib
  # Held-out windows, fresh simulator seeds: 700 in the speed band training held out (the hard
  # part) + 700 over the whole 600-3600 rpm range (the deployment distribution).
  node --input-type=module - "$dir" "$tmp/holdout" <<'JS'
import { readFileSync, writeFileSync } from 'node:fs';
const [dir, stem] = process.argv.slice(2);
const { simulateWindows } = await import(`${process.cwd()}/dist/agent/eval/sim.js`);
const { encodeWindows } = await import(`${process.cwd()}/dist/agent/model/window-file.js`);
const { readOnnx } = await import(`${process.cwd()}/dist/agent/model/onnx-reader.js`);
const { hyperparametersFromOnnxMetadata } = await import(`${process.cwd()}/dist/agent/model/tst-hyperparameters.js`);
const h = hyperparametersFromOnnxMetadata(readOnnx(readFileSync(`${dir}/model.onnx`)).metadata);
let band = [1700, 2100];
try {
  const t = JSON.parse(readFileSync(`${dir}/training.json`, 'utf8'));
  band = Object.values(t.data ?? {}).find((s) => s && s.excludeRpm)?.excludeRpm ?? band;
} catch {}
const sim = (seedBase, rpm) => simulateWindows({ labels: h.labels, count: 700, seedBase, ranges: { rpm, severity: [0.2, 1] },
  windowLength: h.windowLength, sampleRateHz: h.sampleRateHz, axes: ['radial'] });
const w = [...sim(40_000_000, band), ...sim(41_000_000, [600, 3600])];
const enc = encodeWindows(w.map((x) => x.x), { windowLength: h.windowLength, channels: h.channelCount, channelNames: h.channelNames }, w.map((x) => x.label));
writeFileSync(`${stem}.f32`, enc.data);
writeFileSync(`${stem}.json`, enc.descriptor);
process.stderr.write(`held-out: 700 windows at ${band.join('..')} rpm (seeds 40000000..) + 700 at 600..3600 rpm (seeds 41000000..)\n`);
JS
  # The bundle is as old as the training run that made it (training.json `created`), so a rebuild
  # with the same inputs changes nothing and a retrained model gets its own time.
  local created; created=$(node -e 'try{console.log(JSON.parse(require("fs").readFileSync(process.argv[1]+"/training.json","utf8")).created??"")}catch{}' "$dir")
  [[ -n "$created" ]] || created=$(created_of "$dir")
  # All five encoder linears int8 first; if the int8 vs fp32 gate refuses, keep patch_embd F32
  # (its input, the normalized spectral features, has the widest range; ~3 % of the MACs) and
  # convert again: the provisional 8-epoch model needed this (docs/bundles.md).
  if ! vigil model convert --onnx "$dir/model.onnx" --calib "$dir/calib.json" --holdout "$tmp/holdout.json" \
    --out "$dir" ${created:+--created "$created"}; then
    echo "build-bundles: all-int8 refused; retrying with patch_embd kept F32" >&2
    vigil model convert --onnx "$dir/model.onnx" --calib "$dir/calib.json" --holdout "$tmp/holdout.json" \
      --keep-f32 patch_embd --out "$dir" ${created:+--created "$created"}
  fi
  vigil model verify "$dir"
  vigil eval sim --bundle "$dir" --seed 1 --count 700                 # the speed band training held out
  vigil eval sim --bundle "$dir" --seed 1 --count 700 --rpm 600:3600   # all speeds
}

build_pump_skab() {
  local dir=models/pump-skab
  local created; created=$(created_of "$dir")
  # One class ("normal"): top-1 agreement is trivially 100 %; the anomaly score is what must
  # survive int8, so its rank correlation with fp32 on the held-out windows is gated too.
  # Hop 1: every 1 Hz row ends a scored window, as in the SKAB protocol (docs/anomaly.md).
  vigil model convert --onnx "$dir/model.onnx" --calib "$dir/calib.json" --holdout "$dir/heldout.json" \
    --min-rank-correlation 0.99 --hop 1 --out "$dir" ${created:+--created "$created"}
  vigil model verify "$dir"
}

targets=("$@")
[[ ${#targets[@]} -eq 0 ]] && targets=(rotating-vib pump-skab)
for t in "${targets[@]}"; do
  case "$t" in
    rotating-vib) build_rotating_vib ;;
    pump-skab) build_pump_skab ;;
    *) echo "build-bundles: unknown bundle $t (rotating-vib | pump-skab)" >&2; exit 2 ;;
  esac
done
