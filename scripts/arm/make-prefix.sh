#!/usr/bin/env bash
# make-prefix.sh <aarch64|armhf> <cpu> <dir>: a qemu -L prefix: lib -> Debian's cross glibc, and
# a fake proc/cpuinfo describing <cpu> (qemu 7.2 otherwise passes the host's x86 cpuinfo through,
# and onnxruntime's cpuinfo crashes on it). One block per host CPU. Idempotent.
set -euo pipefail
arch=$1 cpu=$2 dir=$3
case $arch in
  aarch64) triple=aarch64-linux-gnu ;;
  armhf) triple=arm-linux-gnueabihf ;;
  *) echo "make-prefix.sh: unknown arch '$arch'" >&2; exit 2 ;;
esac
[[ -d /usr/$triple/lib ]] || { echo "make-prefix.sh: /usr/$triple/lib missing (install the cross g++)" >&2; exit 1; }
mkdir -p "$dir/proc"
ln -sfn "/usr/$triple/lib" "$dir/lib"
if [[ $arch == aarch64 ]]; then ln -sfn "/usr/$triple/lib" "$dir/lib64"; fi
case $cpu in
  cortex-a72) part=0xd08 features="fp asimd evtstrm crc32 cpuid" arch_field=8 variant=0x0 rev=3 ;;
  cortex-a76) part=0xd0b features="fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp" arch_field=8 variant=0x4 rev=1 ;;
  cortex-a15) part=0xc0f features="half thumb fastmult vfp edsp neon vfpv3 tls vfpv4 idiva idivt vfpd32 lpae evtstrm" arch_field=7 variant=0x2 rev=3 ;;
  *) echo "make-prefix.sh: no cpuinfo template for '$cpu'" >&2; exit 2 ;;
esac
n=$(nproc)
{
  for ((i = 0; i < n; i++)); do
    echo "processor	: $i"
    if [[ $arch == armhf ]]; then
      echo "model name	: ARMv7 Processor rev $rev (v7l)"
    fi
    echo "BogoMIPS	: 108.00"
    echo "Features	: $features"
    echo "CPU implementer	: 0x41"
    echo "CPU architecture: $arch_field"
    echo "CPU variant	: $variant"
    echo "CPU part	: $part"
    echo "CPU revision	: $rev"
    echo
  done
  if [[ $arch == armhf ]]; then printf 'Hardware\t: BCM2835\nRevision\t: a21041\n'; fi
} >"$dir/proc/cpuinfo"
echo "$dir"
