#!/usr/bin/env bash
# `npm run test:atom`: the Node binding on an x86 CPU without AVX, under qemu user emulation:
# `qemu-x86_64 -cpu Denverton` (Intel Atom C3000: Goldmont, SSE4.2, no AVX), the class of many
# fanless x86 gateways (docs/kernels.md "sse41"). The host's own node and addon, nothing cross-built:
#   1. engineInfo() through the real binding on that CPU must select sse41 (the addon's float
#      clones resolve to their baseline there);
#   2. vitest test/binding on that CPU (forks pool, as on a device; scripts/arm/qemu-spawn-shim.mjs
#      runs the tests' child processes, vitest's workers and the addon probe, under the same
#      emulated CPU instead of natively), with VIGIL_EXPECT_SELECTED=sse41.
# Emulated timings mean nothing: correctness only. Prints "atom: N passed, N failed" last.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
passed=0
failed=0
finish() {
  echo "atom: $passed passed, $failed failed"
  exit $((failed == 0 ? 0 : 1))
}
qemu=$(command -v qemu-x86_64-static || command -v qemu-x86_64 || true)
if [[ -z $qemu ]]; then
  echo "atom: no qemu-x86_64 (apt-get install qemu-user-static)"
  failed=1
  finish
fi
if [[ $(uname -m) != x86_64 ]]; then
  echo "atom: x86_64 hosts only (this is $(uname -m))"
  failed=1
  finish
fi
addon=${VIGIL_ADDON_PATH:-$root/build/Release/vigil_addon.node}
work=$(mktemp -d "${TMPDIR:-/tmp}/vigil-atom-XXXXXX")
trap 'rm -rf "$work"' EXIT
wrapper=$work/node-denverton.sh
printf '#!/bin/sh\nexec %s -cpu Denverton %s "$@"\n' "$qemu" "$(command -v node)" >"$wrapper"
chmod +x "$wrapper"

printf '\n=== atom: engineInfo() through the binding under -cpu Denverton must select sse41\n'
info=$("$wrapper" -e "const i = require(process.argv[1]).engineInfo(); console.log(JSON.stringify(i))" "$addon" 2>&1 |
  grep -v "TCG doesn't support requested feature") || true
echo "$info"
selected=$(sed -nE 's/.*"selected":"([a-z0-9_]+)".*/\1/p' <<<"$info")
if [[ $selected == sse41 ]]; then
  passed=$((passed + 1))
else
  failed=$((failed + 1))
  echo "atom: FAIL selected path '${selected:-none}', expected sse41"
  finish
fi

printf '\n=== atom: vitest test/binding under -cpu Denverton (emulated: slow, correctness only)\n'
report=$work/vitest.json
set +e
VIGIL_ADDON_PATH=$addon VIGIL_QEMU_NODE=$wrapper VIGIL_EXPECT_SELECTED=sse41 \
  NODE_OPTIONS="--import=$root/scripts/arm/qemu-spawn-shim.mjs" \
  "$wrapper" node_modules/vitest/vitest.mjs run test/binding --config scripts/x86/vitest.atom.config.ts \
  --reporter=default --reporter=json --outputFile.json="$report" 2>&1 | grep -v "TCG doesn't support requested feature"
rc=${PIPESTATUS[0]}
set -e
if [[ -f $report ]]; then
  read -r p f <<<"$(node "$root/scripts/vitest-counts.mjs" "$report")"
  passed=$((passed + p))
  failed=$((failed + f))
  echo "atom: vitest test/binding on sse41: $p passed, $f failed (vitest exit $rc)"
else
  failed=$((failed + 1))
  echo "atom: FAIL vitest wrote no report (exit $rc)"
fi
finish
