// The ORT backend in its worker thread, for real (onnxruntime-node in node:worker_threads, the
// compiled entry dist/agent/inference/onnx-worker.js: run `npm run build` first), against ORT
// in process on the repo's bundles: the same outputs, batched results equal to unbatched ones
// (within float rounding: ORT's batched GEMM sums in another order), a corrupt ONNX still fails
// at open, a killed worker is a counted crash the next run recovers from, and the event loop
// keeps ticking while a long batch runs (compared with the same batch run inline, which holds
// the loop: no absolute timing is asserted).
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import type { InferenceOutputs } from '../../agent/inference/backend.js';
import type { HostToWorker } from '../../agent/inference/onnx-worker-protocol.js';
import { OnnxBackend } from '../../agent/inference/onnx-backend.js';
import {
  OnnxWorkerBackend,
  ortWorkerEntry,
  type WorkerLike,
} from '../../agent/inference/onnx-worker-backend.js';
import type { Manifest } from '../../agent/model/manifest-types.js';
import { modelProtoType } from '../../agent/model/onnx-proto.js';
import { expectSameOutputs } from '../helpers/outputs.js';
import { tempDir } from '../helpers/temp-dir.js';
import { writeTinyBundle } from '../helpers/tiny-bundle.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

function bundle(name: string): { onnx: string; manifest: Manifest; len: number } {
  const dir = path.join(ROOT, 'models', name);
  const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Manifest;
  return {
    onnx: path.join(dir, 'model.onnx'),
    manifest,
    len: manifest.input.windowLength * manifest.input.channels.length,
  };
}

/** Deterministic, model-scale windows (a few sines plus a seeded offset). */
function windows(len: number, n: number, seed: number): Float32Array[] {
  return Array.from({ length: n }, (_, i) =>
    Float32Array.from(
      { length: len },
      (_, k) => Math.sin(k * 0.013 * (i + seed)) + 0.2 * Math.cos(k * 0.31) + 0.01 * i,
    ),
  );
}

function close(a: InferenceOutputs, b: InferenceOutputs, tol: number): void {
  for (const k of ['probs', 'embedding', 'patchError', 'channelError'] as const) {
    expect(a[k].length).toBe(b[k].length);
    for (let i = 0; i < a[k].length; i++)
      expect(Math.abs(a[k][i]! - b[k][i]!)).toBeLessThanOrEqual(tol * (1 + Math.abs(b[k][i]!)));
  }
}

const toDispose: { dispose(): Promise<void> }[] = [];
afterAll(async () => {
  for (const b of toDispose) await b.dispose();
});

describe('ORT in a worker thread (real onnxruntime-node)', () => {
  it('the compiled worker entry exists (npm run build)', () => {
    expect(() => readFileSync(ortWorkerEntry())).not.toThrow();
  });

  for (const name of ['pump-skab', 'rotating-vib']) {
    it(`${name}: worker outputs equal in-process outputs; batched equal unbatched`, async () => {
      const b = bundle(name);
      const worker = await OnnxWorkerBackend.open(b.onnx, b.manifest);
      const inline = await OnnxBackend.open(b.onnx, b.manifest);
      toDispose.push(worker, inline);
      expect(worker.dynamicBatch).toBe(true); // the bundles export x as [batch, T', C']
      expect(inline.dynamicBatch).toBe(true);
      const xs = windows(b.len, 5, 3);
      const wBatch = await worker.runBatch(xs);
      const iBatch = await inline.runBatch(xs);
      expect(wBatch).toHaveLength(5);
      for (let i = 0; i < xs.length; i++) expectSameOutputs(wBatch[i]!, iBatch[i]!); // same ORT, same batch: identical
      for (let i = 0; i < xs.length; i++) {
        const wOne = await worker.run(xs[i]!);
        expectSameOutputs(wOne, await inline.run(xs[i]!));
        close(wBatch[i]!, wOne, 1e-5);
      }
      // distinct windows, distinct results
      expect(Array.from(wBatch[0]!.embedding)).not.toEqual(Array.from(wBatch[1]!.embedding));
      expect(worker.counters()).toMatchObject({ state: 'ready', crashes: 0 });
      expect(inline.counters().state).toBe('inline');
    });
  }

  it('a corrupt ONNX file fails at open with MODEL_LOAD, as in process', async () => {
    const b = bundle('pump-skab');
    const bad = path.join(tempDir('vigil-bad-onnx-'), 'model.onnx');
    writeFileSync(bad, readFileSync(b.onnx).subarray(0, 1000));
    await expect(OnnxWorkerBackend.open(bad, b.manifest)).rejects.toMatchObject({
      code: 'MODEL_LOAD',
      message: expect.stringContaining(bad),
    });
    await expect(OnnxBackend.open(bad, b.manifest)).rejects.toMatchObject({ code: 'MODEL_LOAD' });
  });

  it('a worker killed mid-run: BACKEND_WORKER_CRASHED, then the next run restarts it with the same results', async () => {
    const b = bundle('pump-skab');
    const made: Worker[] = [];
    let holdRuns = false;
    const factory = () => {
      const w = new Worker(ortWorkerEntry());
      made.push(w);
      // The killed thread dies with the batch handed over but not yet inside ORT: a thread
      // terminated while onnxruntime-node runs can abort this whole process (the reason the
      // backend never does it, onnx-worker-backend.ts closeWorker), so the test does not either.
      const post = w.postMessage.bind(w);
      w.postMessage = (m: HostToWorker, transfer?: ArrayBuffer[]) => {
        if (holdRuns && made.length === 1 && m.type === 'run') return;
        post(m, transfer);
      };
      return w as unknown as WorkerLike;
    };
    const backend = await OnnxWorkerBackend.open(b.onnx, b.manifest, { factory });
    toDispose.push(backend);
    const [x] = windows(b.len, 1, 7);
    const before = await backend.run(x!);
    holdRuns = true;
    const inFlight = backend.runBatch(windows(b.len, 64, 1));
    await made[0]!.terminate(); // from outside: the host did not ask for it
    await expect(inFlight).rejects.toMatchObject({ code: 'BACKEND_WORKER_CRASHED' });
    expect(backend.counters()).toMatchObject({ state: 'restarting', crashes: 1 });
    expectSameOutputs(await backend.run(x!), before);
    expect(made).toHaveLength(2);
    expect(backend.counters()).toMatchObject({ state: 'ready', crashes: 1, restarts: 1 });
  });

  it('dispose() during a run: it rejects BACKEND_DISPOSED', async () => {
    const b = bundle('rotating-vib');
    const backend = await OnnxWorkerBackend.open(b.onnx, b.manifest);
    const p = expect(backend.runBatch(windows(b.len, 8, 2))).rejects.toMatchObject({
      code: 'BACKEND_DISPOSED',
    });
    await backend.dispose();
    await p;
  });

  it('the event loop keeps ticking while a long ORT batch runs in the worker, not when it runs inline', async () => {
    const b = bundle('rotating-vib');
    const worker = await OnnxWorkerBackend.open(b.onnx, b.manifest);
    const inline = await OnnxBackend.open(b.onnx, b.manifest);
    toDispose.push(worker, inline);
    const xs = windows(b.len, 64, 5); // tens of ms of front end + ORT
    await worker.runBatch(xs.slice(0, 2)); // warm-up
    await inline.runBatch(xs.slice(0, 2));
    /** The batch as one await, with a 1 ms timer: how often it fired, its longest wait between firings. */
    const watch = async (backend: OnnxBackend | OnnxWorkerBackend) => {
      let ticks = 0;
      let last = performance.now();
      let longestMs = 0;
      const timer = setInterval(() => {
        const now = performance.now();
        longestMs = Math.max(longestMs, now - last);
        last = now;
        ticks++;
      }, 1);
      const out = await backend.runBatch(xs);
      longestMs = Math.max(longestMs, performance.now() - last);
      clearInterval(timer);
      expect(out).toHaveLength(64);
      return { ticks, longestMs };
    };
    const inWorker = await watch(worker);
    const onThread = await watch(inline);
    // The same batch on the JS thread holds the loop for most of its run; in the worker the
    // loop never waits half as long as it did then, and the timer fires more often.
    expect(inWorker.ticks).toBeGreaterThan(onThread.ticks);
    expect(inWorker.longestMs).toBeLessThan(onThread.longestMs / 2);
  });

  it('a model whose batch dim is fixed at 1: the windows of a batch loop inside the worker, same results', async () => {
    const tiny = writeTinyBundle();
    const file = path.join(tiny.dir, 'model.onnx');
    const type = modelProtoType();
    const proto = type.decode(readFileSync(file)) as unknown as {
      graph: { input: { name: string; type: { tensorType: { shape: { dim: object[] } } } }[] };
    };
    const x = proto.graph.input.find((v) => v.name === 'x')!;
    x.type.tensorType.shape.dim[0] = { dimValue: 1 };
    const fixed = path.join(tiny.dir, 'fixed.onnx');
    writeFileSync(fixed, type.encode(proto as unknown as object).finish());

    const worker = await OnnxWorkerBackend.open(fixed, tiny.manifest);
    const dynamic = await OnnxWorkerBackend.open(file, tiny.manifest);
    toDispose.push(worker, dynamic);
    expect(worker.dynamicBatch).toBe(false);
    expect(dynamic.dynamicBatch).toBe(true);
    const xs = windows(16 * 3, 4, 11);
    const batch = await worker.runBatch(xs);
    expect(batch).toHaveLength(4);
    for (let i = 0; i < xs.length; i++) {
      expectSameOutputs(batch[i]!, await worker.run(xs[i]!)); // each is a batch-1 run: identical
      close(batch[i]!, await dynamic.run(xs[i]!), 1e-5); // same weights; ORT optimizes static shapes differently
    }
  });
});
