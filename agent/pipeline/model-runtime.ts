// One loaded model in the running agent: its bundle, backend, bounded inference queue and
// latency/outcome counters. Windows of every asset using the model line up in its one queue.
import type { Backend, InferenceOutputs } from '../inference/backend.js';
import { InferenceQueue, type DropPolicy } from '../inference/queue.js';
import type { AssembledWindow } from '../ingest/window-assembler.js';
import { LatencyWindow } from '../health/latency-window.js';
import type { Manifest } from '../model/manifest-types.js';
import type { ModelHealth } from '../reports/health.js';

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

  constructor(
    readonly id: string,
    readonly manifest: Manifest,
    readonly backend: Backend,
    opts: { capacity: number; policy: DropPolicy; now: () => number; onProgress: () => void },
  ) {
    this.queue = new InferenceQueue<WindowJob>({
      capacity: opts.capacity,
      policy: opts.policy,
      batchMax: 1, // neither backend batches yet: windows run one by one, in arrival order
      process: async ([job]) => {
        this.inFlightSince = opts.now();
        let out: InferenceOutputs;
        try {
          out = await this.backend.run(job.input);
        } catch (err) {
          this.failures++;
          job.onError(err as Error);
          return;
        } finally {
          this.inFlightSince = null;
        }
        this.inferences++;
        this.latency.record(out.inferenceUs);
        opts.onProgress();
        job.onResult(out);
      },
      onDrop: (job, reason) => job.onDrop(reason),
    });
  }

  health(): ModelHealth {
    const q = this.queue.counters();
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
    };
  }
}
