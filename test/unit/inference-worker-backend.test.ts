// The ORT worker host (agent/inference/onnx-worker-backend.ts) against a fake worker injected
// through its factory: open success and failure, results split per window with the input moved
// (transferred), crash -> in-flight runs reject BACKEND_WORKER_CRASHED and the next run restarts
// the worker, too many crashes in a row -> BACKEND_FAILED, dispose -> BACKEND_DISPOSED and the
// worker asked to end (terminated only when it does not), and the worker ref'd only while runs
// are in flight.
import { EventEmitter } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import type { Manifest } from '../../agent/model/manifest-types.js';
import type { HostToWorker, WorkerToHost } from '../../agent/inference/onnx-worker-protocol.js';
import { OnnxWorkerBackend, type WorkerLike } from '../../agent/inference/onnx-worker-backend.js';

const manifest = {
  input: { windowLength: 4, channels: ['a', 'b'], sampleRateHz: 10, frontend: { kind: 'none' } },
} as unknown as Manifest;
const LEN = 8;

class FakeWorker extends EventEmitter implements WorkerLike {
  readonly received: { m: HostToWorker; transfer: ArrayBuffer[] }[] = [];
  refs = 0;
  terminated = false;
  /** 'close' received; the fake then exits (code 0) unless `ignoreClose` (a hung worker). */
  closed = false;
  ignoreClose = false;
  /** What the fake does on 'open'. */
  constructor(private readonly onOpen: (w: FakeWorker) => void) {
    super();
  }
  postMessage(m: HostToWorker, transfer: ArrayBuffer[] = []): void {
    // like structured clone with transfer: the host's buffers are detached
    const cloned = structuredClone(m, { transfer });
    this.received.push({ m: cloned, transfer });
    if (m.type === 'open') queueMicrotask(() => this.onOpen(this));
    if (m.type === 'close') {
      this.closed = true;
      if (!this.ignoreClose && !this.exited) queueMicrotask(() => this.emit('exit', 0));
    }
  }
  /** Like a thread, the fake exits once: after 'exit' nothing it is sent gets an answer. */
  exited = false;
  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'exit') {
      if (this.exited) return false;
      this.exited = true;
    }
    return super.emit(event, ...args);
  }
  reply(m: WorkerToHost): void {
    this.emit('message', m);
  }
  /** Answers a 'run' the way onnx-worker.ts does: probs = [first sample of each window]. */
  answer(index: number): void {
    const { m } = this.received[index]!;
    if (m.type !== 'run') throw new Error('not a run');
    const probs = new Float32Array(m.count);
    for (let i = 0; i < m.count; i++) probs[i] = m.raw[i * LEN]!;
    this.reply({
      type: 'result',
      id: m.id,
      workerUs: 100 * m.count,
      outputs: {
        probs,
        embedding: new Float32Array(0),
        patchError: new Float32Array(0),
        channelError: new Float32Array(0),
      },
    });
  }
  runs(): Extract<HostToWorker, { type: 'run' }>[] {
    return this.received.map((r) => r.m).filter((m) => m.type === 'run') as Extract<
      HostToWorker,
      { type: 'run' }
    >[];
  }
  async terminate(): Promise<number> {
    this.terminated = true;
    return 1;
  }
  ref(): void {
    this.refs++;
  }
  unref(): void {
    this.refs--;
  }
}

function factory(onOpen: (w: FakeWorker) => void = (w) => w.reply({ type: 'opened', dynamicBatch: true })) {
  const made: FakeWorker[] = [];
  return {
    made,
    make: () => {
      const w = new FakeWorker(onOpen);
      made.push(w);
      return w;
    },
  };
}

const win = (v: number) => new Float32Array(LEN).fill(v);
const tick = () => new Promise((r) => setImmediate(r));

/** A backend opened on '/m.onnx' through a fake factory (`onOpen`: what each fake does on 'open'). */
async function openFake(
  o: { maxRestarts?: number; closeTimeoutMs?: number; onOpen?: (w: FakeWorker) => void } = {},
) {
  const f = factory(o.onOpen);
  const b = await OnnxWorkerBackend.open('/m.onnx', manifest, {
    factory: f.make,
    maxRestarts: o.maxRestarts,
    closeTimeoutMs: o.closeTimeoutMs,
  });
  return { f, b };
}

/** A run the current worker exits under: it rejects BACKEND_WORKER_CRASHED. */
async function crashRun(b: OnnxWorkerBackend, f: ReturnType<typeof factory>): Promise<void> {
  const p = b.run(win(0));
  await tick();
  await tick();
  f.made.at(-1)!.emit('exit', 1);
  await expect(p).rejects.toMatchObject({ code: 'BACKEND_WORKER_CRASHED' });
}

describe('OnnxWorkerBackend (fake worker)', () => {
  it('opens, runs a batch as one message with the input moved, and splits the result per window', async () => {
    const { f, b } = await openFake();
    const w = f.made[0]!;
    expect(w.received[0]!.m).toEqual({ type: 'open', onnxPath: '/m.onnx', input: manifest.input });
    expect(b.dynamicBatch).toBe(true);
    const xs = [win(1), win(2), win(3)];
    const clock = vi.spyOn(process.hrtime, 'bigint').mockReturnValue(1_000_000_000n);
    const p = b.runBatch(xs);
    await tick();
    const run = w.runs()[0]!;
    expect(run.count).toBe(3);
    expect(Array.from(run.raw)).toEqual([...xs[0]!, ...xs[1]!, ...xs[2]!]);
    expect(w.received[1]!.transfer).toHaveLength(1); // the packed copy, not the caller's arrays
    expect(xs[0]!.length).toBe(LEN); // the caller's windows are untouched
    clock.mockReturnValue(1_001_000_000n); // the answer arrives 1000 us after the run was sent
    w.answer(1);
    const out = await p;
    clock.mockRestore();
    expect(out.map((o) => o.probs[0])).toEqual([1, 2, 3]);
    expect(out.map((o) => o.inferenceUs)).toEqual([100, 100, 100]);
    expect(b.counters()).toMatchObject({ state: 'ready', restarts: 0, crashes: 0 });
    expect(b.counters().hopUsMean).toBe(700); // round trip 1000 us minus 3 x 100 us in the worker
    await b.dispose();
  });

  it('a wrong window length rejects before anything is sent, naming the index', async () => {
    const { f, b } = await openFake();
    await expect(b.runBatch([win(1), new Float32Array(3)])).rejects.toMatchObject({
      code: 'ENGINE_SHAPE_MISMATCH',
      index: 1,
      message: expect.stringMatching(/window 1 of 2 of 3 values: expected 8/),
    });
    expect(f.made[0]!.runs()).toHaveLength(0);
    await b.dispose();
  });

  it('a load error rejects open() with its code and ends the worker', async () => {
    const f = factory((w) =>
      w.reply({ type: 'openFailed', code: 'MODEL_LOAD', message: 'Protobuf parsing failed' }),
    );
    await expect(OnnxWorkerBackend.open('/bad.onnx', manifest, { factory: f.make })).rejects.toMatchObject({
      code: 'MODEL_LOAD',
      message: 'Protobuf parsing failed',
    });
    expect(f.made[0]!.closed).toBe(true); // asked to end, and it did
    expect(f.made[0]!.terminated).toBe(false);
  });

  it('a run error from the worker rejects that call only, with its code and index', async () => {
    const { f, b } = await openFake();
    const w = f.made[0]!;
    const p = b.run(win(1));
    await tick();
    w.reply({ type: 'runFailed', id: w.runs()[0]!.id, code: 'ENGINE_RUN_FAILED', message: 'boom', index: 0 });
    await expect(p).rejects.toMatchObject({ code: 'ENGINE_RUN_FAILED', index: 0 });
    const q = b.run(win(2));
    await tick();
    w.answer(2);
    expect((await q).probs[0]).toBe(2);
    expect(b.counters().crashes).toBe(0);
    await b.dispose();
  });

  it('a crash rejects the runs in flight; the next run restarts the worker and reopens the session', async () => {
    const { f, b } = await openFake();
    const w0 = f.made[0]!;
    const p1 = b.run(win(1));
    const p2 = b.run(win(2));
    await tick();
    w0.emit('error', new Error('Worker terminated due to reaching memory limit'));
    w0.emit('exit', 1); // both events arrive: counted once
    await expect(p1).rejects.toMatchObject({
      code: 'BACKEND_WORKER_CRASHED',
      message: expect.stringMatching(/memory limit/),
    });
    await expect(p2).rejects.toMatchObject({ code: 'BACKEND_WORKER_CRASHED' });
    expect(b.counters()).toMatchObject({ state: 'restarting', crashes: 1, restarts: 0 });

    const p3 = b.run(win(3));
    await tick();
    await tick();
    expect(f.made).toHaveLength(2);
    const w1 = f.made[1]!;
    expect(w1.received[0]!.m.type).toBe('open');
    w1.answer(1);
    expect((await p3).probs[0]).toBe(3);
    expect(b.counters()).toMatchObject({ state: 'ready', crashes: 1, restarts: 1 });
    await b.dispose();
  });

  it('runs issued while the restarted worker opens its session wait for it; one restart is counted', async () => {
    let opens = 0;
    let pending: FakeWorker | null = null; // the restarted worker, its 'opened' held back
    const { f, b } = await openFake({
      onOpen: (w) => {
        if (opens++ === 0) w.reply({ type: 'opened', dynamicBatch: true });
        else pending = w;
      },
    });
    await crashRun(b, f);
    const p3 = b.run(win(3)); // starts the restart
    await tick();
    const p4 = b.run(win(4)); // arrives while the session is still opening
    await tick();
    await tick();
    const w1 = f.made[1]!;
    expect(f.made).toHaveLength(2);
    expect(w1.runs()).toHaveLength(0); // nothing is sent before the session is open
    (pending as FakeWorker | null)!.reply({ type: 'opened', dynamicBatch: true });
    await tick();
    await tick();
    expect(w1.runs()).toHaveLength(2);
    w1.answer(1);
    w1.answer(2);
    expect([(await p3).probs[0], (await p4).probs[0]]).toEqual([3, 4]);
    expect(b.counters()).toMatchObject({ state: 'ready', crashes: 1, restarts: 1 });
    await b.dispose();
  });

  it('maxRestarts crashes in a row: the backend is failed and runs reject BACKEND_FAILED at once', async () => {
    const { f, b } = await openFake({ maxRestarts: 2 });
    for (let i = 0; i < 2; i++) await crashRun(b, f);
    expect(b.state).toBe('failed');
    await expect(b.run(win(9))).rejects.toMatchObject({
      code: 'BACKEND_FAILED',
      message: expect.stringMatching(/crashed 2 times in a row \(limit 2\)/),
    });
    expect(f.made).toHaveLength(2); // no third worker
    await b.dispose();
  });

  it('a successful run resets the crash streak', async () => {
    const { f, b } = await openFake({ maxRestarts: 2 });
    for (let i = 0; i < 3; i++) {
      await crashRun(b, f);
      const ok = b.run(win(5));
      await tick();
      await tick();
      const w = f.made.at(-1)!;
      w.answer(w.received.length - 1);
      expect((await ok).probs[0]).toBe(5);
    }
    expect(b.counters()).toMatchObject({ state: 'ready', crashes: 3, restarts: 3 });
    await b.dispose();
  });

  it('dispose() rejects the runs in flight with BACKEND_DISPOSED, asks the worker to end (no terminate), refuses later runs', async () => {
    const { f, b } = await openFake();
    const w = f.made[0]!;
    const p = b.run(win(1));
    await tick();
    expect(w.refs).toBe(0); // -1 after open (unref), +1 while the run is in flight
    const rejected = expect(p).rejects.toMatchObject({
      code: 'BACKEND_DISPOSED',
      message: expect.stringMatching(/in flight/),
    });
    await b.dispose(); // resolves when the worker has exited (the fake exits on 'close')
    await rejected;
    // terminating a thread while onnxruntime-node runs can abort the process: the worker is
    // asked to end after its current run instead
    expect(w.closed).toBe(true);
    expect(w.terminated).toBe(false);
    w.answer(1); // the run the worker finished after dispose: ignored
    expect(b.counters()).toMatchObject({ state: 'disposed', crashes: 0 }); // its exit is no crash
    await expect(b.run(win(1))).rejects.toMatchObject({ code: 'BACKEND_DISPOSED' });
    await b.dispose(); // idempotent
  });

  it('dispose() terminates a worker that has not ended closeTimeoutMs after being asked (a hung run)', async () => {
    const { f, b } = await openFake({ closeTimeoutMs: 20 });
    const w = f.made[0]!;
    w.ignoreClose = true;
    const p = b.run(win(1));
    await tick();
    const rejected = expect(p).rejects.toMatchObject({ code: 'BACKEND_DISPOSED' });
    await b.dispose();
    await rejected;
    expect(w.closed).toBe(true);
    expect(w.terminated).toBe(true);
  });

  it("the worker is unref'd while idle and ref'd while runs are in flight", async () => {
    const { f, b } = await openFake();
    const w = f.made[0]!;
    expect(w.refs).toBe(-1);
    const p = b.run(win(1));
    const q = b.run(win(2));
    await tick();
    expect(w.refs).toBe(0);
    w.answer(1);
    await p;
    expect(w.refs).toBe(0);
    w.answer(2);
    await q;
    expect(w.refs).toBe(-1);
    await b.dispose();
  });

  it('a crash while the restarted worker opens counts toward the streak; a load error on restart fails', async () => {
    let mode: 'ok' | 'crash' | 'bad' = 'ok';
    const { f, b } = await openFake({
      maxRestarts: 3,
      onOpen: (w) => {
        if (mode === 'ok') w.reply({ type: 'opened', dynamicBatch: true });
        else if (mode === 'crash') w.emit('exit', 1);
        else w.reply({ type: 'openFailed', code: 'MODEL_LOAD', message: 'file changed' });
      },
    });
    await crashRun(b, f);
    mode = 'crash';
    await expect(b.run(win(2))).rejects.toMatchObject({ code: 'BACKEND_WORKER_CRASHED' });
    expect(b.counters()).toMatchObject({ state: 'restarting', crashes: 2, restarts: 1 });
    mode = 'bad';
    await expect(b.run(win(3))).rejects.toMatchObject({ code: 'MODEL_LOAD', message: 'file changed' });
    expect(b.state).toBe('failed');
    await expect(b.run(win(4))).rejects.toMatchObject({
      code: 'BACKEND_FAILED',
      message: expect.stringMatching(/could not be reopened after a crash: file changed/),
    });
    await b.dispose();
  });
});
