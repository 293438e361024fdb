// A ModelRuntime (agent/pipeline/model-runtime.ts) on a given backend with a fixed clock, and
// what became of each window pushed, by key: its outputs, its error code, or its drop.
import type { Backend, InferenceOutputs } from '../../agent/inference/backend.js';
import type { AssembledWindow } from '../../agent/ingest/window-assembler.js';
import type { Manifest } from '../../agent/model/manifest-types.js';
import { ModelRuntime, type WindowJob } from '../../agent/pipeline/model-runtime.js';

const manifest = { labels: ['a', 'b'] } as unknown as Manifest;

export function runtimeHarness(
  backend: Backend,
  o: { batchMax?: number; capacity?: number; policy?: 'drop-oldest' | 'drop-newest' } = {},
) {
  const rt = new ModelRuntime('m', manifest, backend, {
    capacity: o.capacity ?? 64,
    policy: o.policy ?? 'drop-oldest',
    now: () => 0,
    onProgress: () => undefined,
    batchMax: o.batchMax ?? 8,
  });
  const results = new Map<number, InferenceOutputs>();
  const errors = new Map<number, string>();
  const dropped: number[] = [];
  /** Queues the window `input` under `key`. */
  const push = (key: number, input: Float32Array) => {
    const job: WindowJob = {
      window: {} as AssembledWindow,
      input,
      enqueuedAt: 0,
      onResult: (out) => results.set(key, out),
      onError: (err) => errors.set(key, (err as Error & { code?: string }).code ?? err.message),
      onDrop: () => dropped.push(key),
    };
    rt.queue.push(job);
  };
  return { rt, results, errors, dropped, push };
}
