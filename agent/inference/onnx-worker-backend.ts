// onnxruntime-node as a Backend, OFF the JS thread (the default, docs/backends.md): one worker
// thread per ONNX model (onnx-worker.ts) holds the session and the front end. The JS thread only
// packs the batch into one array and moves (transfers) it; the outputs are moved back.
//
// Lifecycle:
// - open(): starts the worker and opens the session there; a bad ONNX file rejects here (MODEL_LOAD
//   / MODEL_FORMAT), as in-process, and the worker is ended.
// - A worker crash (uncaught error, out of memory, unexpected exit) rejects the runs in flight with
//   BACKEND_WORKER_CRASHED; the next run starts a new worker and reopens the session first. After
//   `maxRestarts` crashes in a row with no successful run between, the backend is `failed`: runs
//   reject BACKEND_FAILED at once (the pipeline counts them as failures and keeps running).
// - dispose(): runs in flight reject BACKEND_DISPOSED at once, so do later runs; the worker is
//   asked to end once its current ORT run is over (closeWorker), not terminated mid-run.
// The worker is unref'd while idle, so it never keeps the process alive on its own.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Manifest } from '../model/manifest-types.js';
import { PACKAGE_ROOT } from '../package-root.js';
import type { Backend, BackendCounters, InferenceOutputs } from './backend.js';
import type { HostToWorker, WorkerToHost } from './onnx-worker-protocol.js';
import { OnnxBackendError, packWindows, splitPacked } from './onnx-session.js';

/** The part of node's Worker the host uses (injected in unit tests). */
export interface WorkerLike {
  postMessage(message: HostToWorker, transfer?: ArrayBuffer[]): void;
  on(event: 'message', listener: (m: WorkerToHost) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'exit', listener: (code: number) => void): unknown;
  terminate(): Promise<number>;
  ref(): void;
  unref(): void;
}

export type WorkerFactory = () => WorkerLike;

export interface OnnxWorkerOptions {
  /** Default: a node Worker running onnx-worker.js. */
  factory?: WorkerFactory;
  /** Crashes in a row (no successful run between) after which the backend is failed. Default 3. */
  maxRestarts?: number;
  /**
   * How long dispose() waits for the worker to end on its own (its current ORT run finishing)
   * before it terminates the thread anyway. Default 30 s.
   */
  closeTimeoutMs?: number;
}

export type WorkerState = 'ready' | 'restarting' | 'failed' | 'disposed';

/**
 * The compiled worker entry. Next to this module in dist/; when this module runs from the
 * TypeScript sources (vitest), the compiled copy in dist/ (npm run build).
 */
export function ortWorkerEntry(): string {
  const here = fileURLToPath(import.meta.url);
  const beside = path.join(path.dirname(here), 'onnx-worker.js');
  if (!here.endsWith('.ts')) return beside;
  return path.join(PACKAGE_ROOT, 'dist', path.relative(PACKAGE_ROOT, path.dirname(here)), 'onnx-worker.js');
}

function defaultFactory(): WorkerLike {
  const entry = ortWorkerEntry();
  if (!existsSync(entry)) {
    throw new OnnxBackendError(
      `failed to start the ONNX worker thread: expected its compiled entry ${entry} (run npm run build)`,
      'BACKEND_UNAVAILABLE',
    );
  }
  return new Worker(entry) as unknown as WorkerLike;
}

interface Pending {
  count: number;
  sentAt: bigint;
  resolve(out: InferenceOutputs[]): void;
  reject(err: Error): void;
}

function codedError(message: string, code: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new OnnxBackendError(message, code), extra);
}

export class OnnxWorkerBackend implements Backend {
  readonly kind = 'onnx' as const;
  readonly detail = 'cpu'; // the thread shows in counters().state
  private worker: WorkerLike | null = null;
  private starting: Promise<void> | null = null;
  private opening: { resolve(): void; reject(err: Error): void } | null = null;
  private readonly pending = new Map<number, Pending>();
  /** Workers whose thread has ended, and the ends closeWorker is waiting for. */
  private readonly exited = new WeakSet<WorkerLike>();
  private readonly closing = new WeakMap<WorkerLike, Promise<void>>();
  private nextId = 1;
  private st: WorkerState = 'ready';
  private crashesInARow = 0;
  private failedBecause = '';
  private readonly c = { spawns: 0, crashes: 0, calls: 0, hopUsTotal: 0 };
  private dynamic = false;
  private readonly rawLength: number;
  private readonly maxRestarts: number;
  private readonly closeTimeoutMs: number;
  private readonly factory: WorkerFactory;

  private constructor(
    private readonly onnxPath: string,
    private readonly manifest: Manifest,
    o: OnnxWorkerOptions,
  ) {
    this.rawLength = manifest.input.windowLength * manifest.input.channels.length;
    this.maxRestarts = o.maxRestarts ?? 3;
    this.closeTimeoutMs = o.closeTimeoutMs ?? 30_000;
    this.factory = o.factory ?? defaultFactory;
  }

  static async open(
    onnxPath: string,
    manifest: Manifest,
    o: OnnxWorkerOptions = {},
  ): Promise<OnnxWorkerBackend> {
    const b = new OnnxWorkerBackend(onnxPath, manifest, o);
    await b.start();
    return b;
  }

  get state(): WorkerState {
    return this.st;
  }

  /** Whether the model's batch dim is dynamic (a batch is one ORT run) or windows loop in the worker. */
  get dynamicBatch(): boolean {
    return this.dynamic;
  }

  counters(): BackendCounters {
    return {
      state: this.st,
      restarts: Math.max(0, this.c.spawns - 1),
      crashes: this.c.crashes,
      hopUsMean: this.c.calls > 0 ? this.c.hopUsTotal / this.c.calls : 0,
    };
  }

  async run(window: Float32Array): Promise<InferenceOutputs> {
    return (await this.runBatch([window]))[0] as InferenceOutputs;
  }

  async runBatch(windows: readonly Float32Array[]): Promise<InferenceOutputs[]> {
    if (this.st === 'disposed')
      throw codedError('failed to run ONNX model: the backend was disposed', 'BACKEND_DISPOSED');
    if (this.st === 'failed') {
      throw codedError(`failed to run ONNX model: ${this.failedBecause}`, 'BACKEND_FAILED');
    }
    if (windows.length === 0) return [];
    const raw = packWindows(windows, this.rawLength); // the one copy; its buffer is moved
    // No worker (after a crash), or one still opening its session: wait for the (shared) start.
    if (!this.worker || this.starting) await this.start();
    const w = this.worker;
    if (!w)
      throw codedError(
        'failed to run ONNX model: its worker thread ended while starting',
        'BACKEND_WORKER_CRASHED',
      );
    const id = this.nextId++;
    return new Promise<InferenceOutputs[]>((resolve, reject) => {
      this.pending.set(id, { count: windows.length, sentAt: process.hrtime.bigint(), resolve, reject });
      if (this.pending.size === 1) w.ref();
      try {
        w.postMessage({ type: 'run', id, count: windows.length, raw }, [raw.buffer as ArrayBuffer]);
      } catch (err) {
        this.pending.delete(id);
        if (this.pending.size === 0) w.unref();
        reject(
          codedError(
            `failed to send windows to the ONNX worker: ${(err as Error).message}`,
            'BACKEND_INTERNAL',
          ),
        );
      }
    });
  }

  async dispose(): Promise<void> {
    if (this.st === 'disposed') return;
    this.st = 'disposed';
    const w = this.worker;
    this.worker = null;
    const err = codedError(
      'failed to run ONNX model: the backend was disposed while the run was in flight',
      'BACKEND_DISPOSED',
    );
    this.opening?.reject(err);
    this.opening = null;
    this.failAll(err);
    if (w) await this.closeWorker(w);
  }

  /**
   * Ends a live worker without cutting an ORT run short: it is asked to exit once idle, and
   * terminated only if it has not ended after closeTimeoutMs (an ORT run that hangs). Terminating
   * a worker thread while onnxruntime-node has a run in flight can abort the whole process
   * ("terminate called after throwing an instance of 'Napi::Error'" from its session callback on
   * the torn-down thread; reproduced here with onnxruntime-node 1.30: 2 aborts in 3 x 60
   * dispose-during-run cycles, none in 3 x 60 cycles disposing idle workers).
   */
  private closeWorker(w: WorkerLike): Promise<void> {
    if (this.exited.has(w)) return Promise.resolve(); // crashed or ended: nothing to wait for
    let closing = this.closing.get(w);
    if (!closing) {
      closing = this.askToEnd(w);
      this.closing.set(w, closing);
    }
    return closing;
  }

  private async askToEnd(w: WorkerLike): Promise<void> {
    const exited = new Promise<void>((resolve) => w.on('exit', () => resolve()));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(
        () =>
          void w.terminate().then(
            () => resolve(),
            () => resolve(),
          ),
        this.closeTimeoutMs,
      );
      timer.unref();
    });
    w.ref(); // dispose() resolves when the thread is gone: keep the process up until then
    try {
      w.postMessage({ type: 'close' });
    } catch {
      await w.terminate().catch(() => undefined); // the thread is gone already
    }
    await Promise.race([exited, late]);
    clearTimeout(timer);
  }

  /** Starts a worker and opens the session in it (shared by concurrent callers). */
  private start(): Promise<void> {
    this.starting ??= this.spawn().finally(() => {
      this.starting = null;
    });
    return this.starting;
  }

  private spawn(): Promise<void> {
    this.c.spawns++; // every spawn after the first is a restart
    const w = this.factory();
    this.st = 'restarting';
    const opened = new Promise<void>((resolve, reject) => {
      this.opening = { resolve, reject };
    });
    w.on('message', (m) => this.onMessage(w, m));
    w.on('error', (err) => this.onCrash(w, `failed with ${err.message}`));
    w.on('exit', (code) => {
      this.exited.add(w);
      this.onCrash(w, `exited with code ${code}`);
    });
    this.worker = w;
    w.postMessage({ type: 'open', onnxPath: this.onnxPath, input: this.manifest.input });
    return opened.then(
      () => {
        if (this.st !== 'disposed') this.st = 'ready';
        w.unref();
      },
      async (err: Error & { code?: string }) => {
        if (this.worker === w) this.worker = null;
        // A crash while opening was counted by onCrash (which set the state); a load error on a
        // restart (the file changed under us) will not heal by retrying: failed.
        if (this.st !== 'disposed' && err.code !== 'BACKEND_WORKER_CRASHED')
          this.fail(`its session could not be reopened after a crash: ${err.message}`);
        await this.closeWorker(w);
        throw err;
      },
    );
  }

  private onMessage(w: WorkerLike, m: WorkerToHost): void {
    if (w !== this.worker) return;
    if (m.type === 'opened') {
      this.dynamic = m.dynamicBatch;
      this.opening?.resolve();
      this.opening = null;
      return;
    }
    if (m.type === 'openFailed') {
      this.opening?.reject(codedError(m.message, m.code));
      this.opening = null;
      return;
    }
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (this.pending.size === 0) w.unref();
    if (m.type === 'runFailed') {
      p.reject(codedError(m.message, m.code, m.index === undefined ? {} : { index: m.index }));
      return;
    }
    this.crashesInARow = 0;
    const roundTripUs = Number(process.hrtime.bigint() - p.sentAt) / 1000;
    this.c.calls++;
    this.c.hopUsTotal += Math.max(0, roundTripUs - m.workerUs);
    p.resolve(splitPacked(m.outputs, p.count, m.workerUs / p.count));
  }

  private onCrash(w: WorkerLike, how: string): void {
    if (w !== this.worker) return; // an old worker, or the one dispose() ended
    this.worker = null;
    this.c.crashes++;
    this.crashesInARow++;
    const err = codedError(`failed to run ONNX model: its worker thread ${how}`, 'BACKEND_WORKER_CRASHED');
    if (this.opening) {
      this.opening.reject(err);
      this.opening = null;
    }
    if (this.crashesInARow >= this.maxRestarts)
      this.fail(`its worker thread crashed ${this.crashesInARow} times in a row (limit ${this.maxRestarts})`);
    else if (this.st !== 'disposed') this.st = 'restarting';
    this.failAll(err);
    void w.terminate().catch(() => undefined);
  }

  private fail(because: string): void {
    this.st = 'failed';
    this.failedBecause = because;
  }

  private failAll(err: Error): void {
    const ps = [...this.pending.values()];
    this.pending.clear();
    for (const p of ps) p.reject(err);
  }
}
