// Interleaved timing with injected clocks: rotation order, warm-up discarded, async calls
// awaited inside the timed span, wall and CPU samples per contender.
import { describe, expect, it } from 'vitest';
import { interleave, type Clocks } from '../../agent/bench/interleave.js';

/** A fake clock that each call advances by its contender's cost. */
function fakeClocks(): Clocks & { advance(wallUs: number, cpuUs: number): void } {
  let wallNs = 0n;
  let cpu = 0;
  return {
    wallNs: () => wallNs,
    cpuUs: () => cpu,
    advance(w, c) {
      wallNs += BigInt(Math.round(w * 1000));
      cpu += c;
    },
  };
}

describe('interleave', () => {
  it('rotates the first contender each round and discards warm-up rounds', async () => {
    const clocks = fakeClocks();
    const order: string[] = [];
    const mk = (id: string, wallUs: number, cpuUs: number) => ({
      id,
      call: () => {
        order.push(id);
        clocks.advance(wallUs, cpuUs);
      },
    });
    const s = await interleave([mk('a', 10, 9), mk('b', 20, 18), mk('c', 30, 5)], {
      warmup: 1,
      runs: 3,
      clocks,
    });
    expect(order.join('')).toBe('abc' + 'bca' + 'cab' + 'abc');
    expect(s.get('a')).toEqual({ wallUs: [10, 10, 10], cpuUs: [9, 9, 9] });
    expect(s.get('b')!.wallUs).toEqual([20, 20, 20]);
    expect(s.get('c')!.cpuUs).toEqual([5, 5, 5]);
  });

  it('awaits async calls inside the timed span', async () => {
    const clocks = fakeClocks();
    const s = await interleave(
      [
        {
          id: 'async',
          call: async () => {
            await Promise.resolve();
            clocks.advance(42, 1);
          },
        },
      ],
      { warmup: 0, runs: 2, clocks },
    );
    expect(s.get('async')!.wallUs).toEqual([42, 42]);
  });

  it('propagates a failing call', async () => {
    const boom = { id: 'x', call: () => Promise.reject(new Error('engine failed')) };
    await expect(interleave([boom], { warmup: 0, runs: 1, clocks: fakeClocks() })).rejects.toThrow(
      'engine failed',
    );
  });
});
