import { describe, expect, it } from 'vitest';
import { InferenceQueue } from '../../agent/inference/queue.js';

function gate() {
  let open!: () => void;
  const p = new Promise<void>((r) => (open = r));
  return { p, open };
}

describe('InferenceQueue', () => {
  it('drop-oldest evicts the stalest queued item, counts it and hands it to onDrop', async () => {
    const done: number[] = [];
    const dropped: number[] = [];
    const g = gate();
    const q = new InferenceQueue<number>({
      capacity: 3,
      policy: 'drop-oldest',
      process: async ([x]) => {
        if (x === 0) await g.p; // hold the consumer so items pile up
        done.push(x);
      },
      onDrop: (x) => dropped.push(x),
    });
    for (let i = 0; i < 7; i++) q.push(i);
    // 0 is running; 1..6 arrived into a 3-slot queue: 1, 2, 3 evicted
    expect(dropped).toEqual([1, 2, 3]);
    expect(q.counters()).toMatchObject({ depth: 3, maxDepth: 3, enqueued: 7, dropped: 3 });
    g.open();
    await q.drain();
    expect(done).toEqual([0, 4, 5, 6]);
    expect(q.counters()).toMatchObject({ depth: 0, processed: 4 });
  });

  it('drop-newest refuses incoming items and keeps the queued ones', async () => {
    const done: number[] = [];
    const g = gate();
    const q = new InferenceQueue<number>({
      capacity: 2,
      policy: 'drop-newest',
      process: async ([x]) => {
        if (x === 0) await g.p;
        done.push(x);
      },
    });
    const accepted = [0, 1, 2, 3, 4].map((i) => q.push(i));
    expect(accepted).toEqual([true, true, true, false, false]);
    g.open();
    await q.drain();
    expect(done).toEqual([0, 1, 2]);
    expect(q.counters()).toMatchObject({ enqueued: 3, dropped: 2, processed: 3 });
  });

  it('hands up to batchMax items per call, in arrival order', async () => {
    const batches: number[][] = [];
    const g = gate();
    const q = new InferenceQueue<number>({
      capacity: 100,
      policy: 'drop-oldest',
      batchMax: 4,
      process: async (b) => {
        if (b[0] === 0) await g.p;
        batches.push(b);
      },
    });
    for (let i = 0; i < 10; i++) q.push(i);
    g.open();
    await q.drain();
    expect(batches).toEqual([[0], [1, 2, 3, 4], [5, 6, 7, 8], [9]]);
  });

  it('a throwing batch is counted and the queue keeps going; closed queues refuse', async () => {
    const errors: unknown[] = [];
    const done: number[] = [];
    const q = new InferenceQueue<number>({
      capacity: 10,
      policy: 'drop-oldest',
      process: async ([x]) => {
        if (x === 1) throw new Error('boom');
        done.push(x);
      },
      onError: (e) => errors.push(e),
    });
    [0, 1, 2].forEach((i) => q.push(i));
    await q.drain();
    expect(done).toEqual([0, 2]);
    expect(errors).toHaveLength(1);
    expect(q.counters().failedBatches).toBe(1);
    q.close();
    expect(q.push(3)).toBe(false);
    expect(q.counters().dropped).toBe(1);
  });

  it('rejects a capacity below 1', () => {
    expect(
      () => new InferenceQueue({ capacity: 0, policy: 'drop-oldest', process: async () => undefined }),
    ).toThrow(/capacity/);
  });
});
