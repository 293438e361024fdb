// The one interface every inference backend implements (native engine, onnxruntime).
// A backend takes the model's raw input window (its bundle's input spec: windowLength x
// channels, float32, time-major) and returns the heads of docs/model-format.md.

export type BackendKind = 'native' | 'onnx';

export interface InferenceOutputs {
  probs: Float32Array; // [K] class probabilities
  embedding: Float32Array; // [d] pooled embedding
  patchError: Float32Array; // [N] per-patch reconstruction error (empty without the head)
  channelError: Float32Array; // [C'] per-feature-channel reconstruction error (empty without)
  inferenceUs: number; // time spent in the backend for this window
}

export interface Backend {
  readonly kind: BackendKind;
  /** e.g. "avx512_vnni" for native, "cpu" for onnx */
  readonly detail: string;
  /**
   * Never blocks the event loop for long: native runs on the libuv pool, onnx in a worker thread
   * (docs/backends.md). The window is not retained nor modified.
   */
  run(window: Float32Array): Promise<InferenceOutputs>;
  /**
   * Several windows as one call (one libuv work item / one ORT run with a batch dim): one result
   * per window, in order, each equal to run()'s for that window. Any failure rejects the whole
   * call; an input error carries `index`. Optional: a backend without it runs windows one by one.
   */
  runBatch?(windows: readonly Float32Array[]): Promise<InferenceOutputs[]>;
  /** Backend-specific counters for health (e.g. the ORT worker's restarts). */
  counters?(): BackendCounters;
  dispose(): Promise<void>;
}

export interface BackendCounters {
  /** 'inline' (runs on the JS thread), 'ready', 'restarting', 'failed', 'disposed'. */
  state: string;
  /** Worker threads started after the first (each after a crash). */
  restarts: number;
  crashes: number;
  /** Mean cost of the thread hop per call (round trip minus in-worker time), microseconds. */
  hopUsMean: number;
}
