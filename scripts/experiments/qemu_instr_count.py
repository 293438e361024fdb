#!/usr/bin/env python3
"""Instructions per forward of an ARM engine_bench run, by function, from qemu's block log.

Timings under qemu mean nothing, so the ARM kernels are judged by executed instructions
(docs/engine.md step 31, docs/kernels.md "ARM: instructions per MAC"). Two runs of the same
engine_bench, with 1 and 3 timed forwards, cancel the load and warm-up; half their difference
is one forward:

  for n in 1 3; do
    qemu-arm-static -cpu cortex-a15 -L .arm/prefix-armhf-cortex-a15 -d in_asm,exec,nochain \\
      -D /tmp/a15_$n.log .arm/build-armhf/test/engine_bench $n neon tiny 1 4
  done
  python3 scripts/experiments/qemu_instr_count.py /tmp/a15_1.log /tmp/a15_3.log
  python3 scripts/experiments/qemu_instr_count.py /tmp/a15_1.log /tmp/a15_3.log --blocks micro_fused

(aarch64: qemu-aarch64-static -cpu cortex-a72|cortex-a76 -L .arm/prefix-aarch64-cortex-a7x and
.arm/build-aarch64/test/engine_bench with neon | neon_dot). `--blocks NAME` lists the executed
translation blocks of the functions whose symbol contains NAME (start address, executions per
forward, instructions per block), to see where a kernel's instructions go.
"""
import argparse
import collections
import re

TRACE = re.compile(r'\[[0-9a-f]+/([0-9a-f]+)/[^\]]*\]\s*(.*)$')


def parse(path):
    """Per block start address: (executions, instructions, symbol)."""
    size, execs, sym = {}, collections.Counter(), {}
    cur, n = None, 0
    with open(path, errors='replace') as f:
        for line in f:
            if line.startswith('IN:'):
                cur, n = None, 0
            elif line.startswith('0x') and ':' in line[:20]:
                addr = int(line.split(':')[0], 16)
                if cur is None:
                    cur = addr
                n += 1
                size[cur] = n
            elif line.startswith('Trace'):
                m = TRACE.search(line)
                if m:
                    a = int(m.group(1), 16)
                    execs[a] += 1
                    sym[a] = m.group(2).strip()
                cur = None
    return {a: (c, size.get(a, 0), sym.get(a, '?')) for a, c in execs.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('one', help='qemu log of the 1-forward run')
    ap.add_argument('three', help='qemu log of the 3-forward run')
    ap.add_argument('--top', type=int, default=14)
    ap.add_argument('--blocks', metavar='NAME')
    args = ap.parse_args()
    a, b = parse(args.one), parse(args.three)
    per = {k: ((c - a.get(k, (0, 0, ''))[0]) / 2, s, name) for k, (c, s, name) in b.items()}
    if args.blocks:
        for k in sorted(per):
            c, s, name = per[k]
            if args.blocks in name and c > 0:
                print('%x  %8.0f x %3d = %9.0f' % (k, c, s, c * s))
        return
    by = collections.Counter()
    for c, s, name in per.values():
        by[name[:70]] += c * s
    total = sum(by.values())
    print('instructions per forward: %.0f' % total)
    for name, v in by.most_common(args.top):
        print('%9.0f %5.1f%% %s' % (v, 100 * v / total, name))


if __name__ == '__main__':
    main()
