// ModelRuntime batching (agent/pipeline/model-runtime.ts) with a fake backend: windows that queue
// up while a call is in flight go out as one runBatch() of at most batchMax, every job gets its
// own window's result, counters add up, the drop policy still applies, a batch failing on one
// window's input is rerun window by window, and a backend without runBatch is never batched.
import { describe, expect, it } from 'vitest';
import type { Backend, InferenceOutputs } from '../../agent/inference/backend.js';
import type { ModelRuntime } from '../../agent/pipeline/model-runtime.js';
import { runtimeHarness } from '../helpers/runtime-harness.js';

/** Output of window x: probs = [x[0], 1 - x[0]] (a pure function of the input). */
function outputsOf(x: Float32Array): InferenceOutputs {
  return {
    probs: new Float32Array([x[0]!, 1 - x[0]!]),
    embedding: new Float32Array([x[0]! * 2]),
    patchError: new Float32Array(0),
    channelError: new Float32Array(0),
    inferenceUs: 10,
  };
}

/** A backend whose calls wait until released, recording the size of each call. */
class FakeBackend implements Backend {
  readonly kind = 'native' as const;
  readonly detail = 'fake';
  readonly calls: number[] = [];
  private gates: (() => void)[] = [];
  failIndex: number | null = null;
  failAll: Error | null = null;

  private wait(): Promise<void> {
    return new Promise((r) => this.gates.push(r));
  }

  /** Lets every waiting call finish. */
  releaseAll(): void {
    for (const g of this.gates.splice(0)) g();
  }

  async run(x: Float32Array): Promise<InferenceOutputs> {
    this.calls.push(1);
    await this.wait();
    if (this.failAll) throw this.failAll;
    if (x[0]! < 0) throw Object.assign(new Error('negative window'), { code: 'ENGINE_INPUT_NONFINITE' });
    return outputsOf(x);
  }

  runBatch?: (xs: readonly Float32Array[]) => Promise<InferenceOutputs[]> = async (xs) => {
    this.calls.push(xs.length);
    await this.wait();
    if (this.failAll) throw this.failAll;
    const bad = xs.findIndex((x) => x[0]! < 0);
    if (bad >= 0)
      throw Object.assign(new Error(`batch input ${bad}`), { code: 'ENGINE_INPUT_NONFINITE', index: bad });
    return xs.map(outputsOf);
  };

  async dispose(): Promise<void> {}
}

/** The runtime harness with window v = [v, 0, 0], keyed by v. */
function harness(backend: Backend, o: Parameters<typeof runtimeHarness>[1] = {}) {
  const h = runtimeHarness(backend, o);
  return { ...h, push: (v: number) => h.push(v, new Float32Array([v, 0, 0])) };
}

/** Releases the fake's calls until the queue is idle. */
async function settle(b: FakeBackend, rt: ModelRuntime): Promise<void> {
  const idle = rt.queue.drain();
  let done = false;
  void idle.then(() => (done = true));
  while (!done) {
    b.releaseAll();
    await new Promise((r) => setImmediate(r));
  }
}

describe('ModelRuntime batching', () => {
  it('windows queued behind a call go out as batches of at most batchMax, each with its own result', async () => {
    const b = new FakeBackend();
    const h = harness(b, { batchMax: 4 });
    for (let v = 1; v <= 10; v++) h.push(v / 100);
    await settle(b, h.rt);
    // 1 starts alone, the 9 queued behind it go as 4 + 4 + 1
    expect(b.calls).toEqual([1, 4, 4, 1]);
    expect(h.results.size).toBe(10);
    for (const [v, out] of h.results) {
      expect(Array.from(out.probs)).toEqual(Array.from(outputsOf(new Float32Array([v])).probs));
      expect(out.embedding[0]).toBeCloseTo(v * 2, 6);
    }
    const health = h.rt.health();
    expect(health.batches).toEqual({
      max: 4,
      calls: 4,
      windows: 10,
      maxSize: 4,
      sizes: { 1: 2, 4: 2 },
      fallbacks: 0,
    });
    expect(health.inferences).toBe(10);
    expect(health.failures).toBe(0);
  });

  it('batched results equal unbatched results, window for window', async () => {
    const values = [0.1, 0.25, 0.5, 0.75, 0.9, 0.3];
    const run = async (batchMax: number) => {
      const b = new FakeBackend();
      const h = harness(b, { batchMax });
      for (const v of values) h.push(v);
      await settle(b, h.rt);
      return { calls: b.calls, results: values.map((v) => Array.from(h.results.get(v)!.probs)) };
    };
    const one = await run(1);
    const eight = await run(8);
    expect(one.calls).toEqual([1, 1, 1, 1, 1, 1]);
    expect(eight.calls).toEqual([1, 5]);
    expect(eight.results).toEqual(one.results);
  });

  it('the drop policy still applies: a full queue evicts the oldest, counted, then batches drain the rest', async () => {
    const b = new FakeBackend();
    const h = harness(b, { batchMax: 8, capacity: 3, policy: 'drop-oldest' });
    for (let v = 1; v <= 6; v++) h.push(v / 10); // 1 in flight, 2..6 into 3 slots: 2 and 3 evicted
    await settle(b, h.rt);
    expect(h.dropped).toEqual([0.2, 0.3]);
    expect([...h.results.keys()].sort()).toEqual([0.1, 0.4, 0.5, 0.6]);
    expect(b.calls).toEqual([1, 3]);
    expect(h.rt.health().queue.dropped).toBe(2);
  });

  it('a batch failing on one window input is rerun window by window: only that window fails', async () => {
    const b = new FakeBackend();
    const h = harness(b, { batchMax: 8 });
    for (const v of [0.1, 0.2, -1, 0.4]) h.push(v);
    await settle(b, h.rt);
    expect(b.calls).toEqual([1, 3, 1, 1, 1]);
    expect(h.errors).toEqual(new Map([[-1, 'ENGINE_INPUT_NONFINITE']]));
    expect([...h.results.keys()].sort()).toEqual([0.1, 0.2, 0.4]);
    expect(h.rt.health().batches.fallbacks).toBe(1);
    expect(h.rt.health().failures).toBe(1);
  });

  it('any other batch failure fails each of its windows (the pipeline counts them and goes on)', async () => {
    const b = new FakeBackend();
    const h = harness(b, { batchMax: 8 });
    h.push(0.1);
    for (const v of [0.2, 0.3]) h.push(v);
    b.failAll = Object.assign(new Error('worker crashed'), { code: 'BACKEND_WORKER_CRASHED' });
    await settle(b, h.rt);
    expect(h.errors.get(0.2)).toBe('BACKEND_WORKER_CRASHED');
    expect(h.errors.get(0.3)).toBe('BACKEND_WORKER_CRASHED');
    expect(h.rt.health().failures).toBe(3);
    b.failAll = null;
    h.push(0.5);
    await settle(b, h.rt);
    expect(h.results.has(0.5)).toBe(true);
  });

  it('a backend without runBatch runs one window per call (batch max 1)', async () => {
    const b = new FakeBackend();
    b.runBatch = undefined;
    const h = harness(b, { batchMax: 8 });
    for (let v = 1; v <= 4; v++) h.push(v / 10);
    await settle(b, h.rt);
    expect(b.calls).toEqual([1, 1, 1, 1]);
    expect(h.rt.health().batches).toMatchObject({ max: 1, calls: 4, maxSize: 1 });
  });
});
