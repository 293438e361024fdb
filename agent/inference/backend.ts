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
  /** Never blocks the event loop for long: native runs on the libuv pool. */
  run(window: Float32Array): Promise<InferenceOutputs>;
  dispose(): Promise<void>;
}
