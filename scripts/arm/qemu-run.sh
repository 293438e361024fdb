#!/usr/bin/env bash
# qemu-run.sh <arch> <program> [args...]: runs a cross-built ARM program under qemu user mode
# with the CPU model in $VIGIL_QEMU_CPU (cortex-a72, cortex-a76, cortex-a15) and the matching
# -L prefix from make-prefix.sh (ARM glibc + a fake /proc/cpuinfo for that CPU).
# Used as CMAKE_CROSSCOMPILING_EMULATOR, so ctest runs every test this way.
set -euo pipefail
arch=$1
shift
cpu=${VIGIL_QEMU_CPU:?set VIGIL_QEMU_CPU (cortex-a72, cortex-a76 or cortex-a15)}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
prefix=${VIGIL_ARM_DIR:-$root/.arm}/prefix-$arch-$cpu
[[ -d $prefix ]] || "$root/scripts/arm/make-prefix.sh" "$arch" "$cpu" "$prefix" >/dev/null
case $arch in
  aarch64) exec qemu-aarch64-static -cpu "$cpu" -L "$prefix" "$@" ;;
  armhf) exec qemu-arm-static -cpu "$cpu" -L "$prefix" "$@" ;;
  *) echo "qemu-run.sh: unknown arch '$arch' (expected aarch64 or armhf)" >&2; exit 2 ;;
esac
