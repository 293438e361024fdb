// One loaded model in the running agent: its bundle, backend, bounded inference queue and
// latency/outcome counters. Windows of every asset using the model line up in its one queue.
//
// Batching (docs/backends.md): when windows have queued up (several assets of the model, or a
// burst), up to `batchMax` of them go to the backend as ONE runBatch() call (native: one libuv
// work item; onnx: one ORT run with batch = N when the model's batch dim is dynamic). A backend
// without runBatch gets batchMax 1. Each window's result is what run() would give it (native:
// bit-exact; onnx: within float rounding, the batched GEMM sums in another order). A batch that
// fails on one window's input (an error with `index`) is rerun window by window, so only that
// window fails; any other batch failure fails each of its windows. The drop policy is the
// queue's, unchanged: batching only changes how many queued windows one backend call takes.
import type { Backend, InferenceOutputs } from '../inference/backend.js';
import { InferenceQueue, type DropPolicy } from '../inference/queue.js';
import type { AssembledWindow } from '../ingest/window-assembler.js';
import { LatencyWindow } from '../health/latency-window.js';
import type { Manifest } from '../model/manifest-types.js';
import type { BatchCounters, ModelHealth } from '../reports/health.js';

export interface WindowJob {
  window: AssembledWindow;
  /** What the backend gets: the raw window, or its site-standardized form. */
  input: Float32Array;
  enqueuedAt: number;
  onResult(out: InferenceOutputs): void;
  onError(err: Error): void;
  onDrop(reason: 'overflow' | 'closed'): void;
}

export class ModelRuntime {
  readonly queue: InferenceQueue<WindowJob>;
  readonly latency = new LatencyWindow(1024);
  inferences = 0;
  failures = 0;
  /** Start (clock ms) of the inference in flight, null when idle: the watchdog's stuck check. */
  inFlightSince: number | null = null;
  private readonly b: BatchCounters;

  constructor(
    readonly id: string,
    readonly manifest: Manifest,
    readonly backend: Backend,
    private readonly opts: {
      capacity: number;
      policy: DropPolicy;
      now: () => number;
      onProgress: () => void;
      /** Most windows per backend call; default 1. */
      batchMax?: number;
    },
  ) {
    this.queue = new InferenceQueue<WindowJob>({
      capacity: opts.capacity,
      policy: opts.policy,
      batchMax: backend.runBatch ? opts.batchMax : 1,
      process: (jobs) => this.process(jobs),
      onDrop: (job, reason) => job.onDrop(reason),
    });
    this.b = { max: this.queue.batchMax, calls: 0, windows: 0, maxSize: 0, sizes: {}, fallbacks: 0 };
  }

  private count(size: number): void {
    this.b.calls++;
    this.b.windows += size;
    this.b.maxSize = Math.max(this.b.maxSize, size);
    this.b.sizes[size] = (this.b.sizes[size] ?? 0) + 1;
  }

  private async process(jobs: WindowJob[]): Promise<void> {
    if (jobs.length === 1 || !this.backend.runBatch) {
      for (const job of jobs) await this.runOne(job);
      return;
    }
    this.inFlightSince = this.opts.now();
    this.count(jobs.length);
    let outs: InferenceOutputs[];
    try {
      outs = await this.backend.runBatch(jobs.map((j) => j.input));
    } catch (err) {
      if (typeof (err as { index?: unknown }).index === 'number') {
        this.b.fallbacks++;
        for (const job of jobs) await this.runOne(job);
        return;
      }
      for (const job of jobs) this.fail(job, err as Error);
      return;
    } finally {
      this.inFlightSince = null;
    }
    jobs.forEach((job, i) => this.deliver(job, outs[i] as InferenceOutputs));
  }

  private async runOne(job: WindowJob): Promise<void> {
    this.inFlightSince = this.opts.now();
    this.count(1);
    let out: InferenceOutputs;
    try {
      out = await this.backend.run(job.input);
    } catch (err) {
      this.fail(job, err as Error);
      return;
    } finally {
      this.inFlightSince = null;
    }
    this.deliver(job, out);
  }

  private fail(job: WindowJob, err: Error): void {
    this.failures++;
    job.onError(err);
  }

  private deliver(job: WindowJob, out: InferenceOutputs): void {
    this.inferences++;
    this.latency.record(out.inferenceUs);
    this.opts.onProgress();
    job.onResult(out);
  }

  batchCounters(): BatchCounters {
    return { ...this.b, sizes: { ...this.b.sizes } };
  }

  health(): ModelHealth {
    const q = this.queue.counters();
    const worker = this.backend.counters?.();
    return {
      backend: this.backend.kind,
      detail: this.backend.detail,
      inferences: this.inferences,
      failures: this.failures,
      latencyUs: this.latency.summary(),
      queue: {
        depth: q.depth,
        maxDepth: q.maxDepth,
        capacity: q.capacity,
        enqueued: q.enqueued,
        dropped: q.dropped,
      },
      batches: this.batchCounters(),
      ...(worker ? { worker } : {}),
    };
  }
}
