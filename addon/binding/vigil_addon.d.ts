// The exact surface of the native module `vigil_addon.node` (addon/binding/).
// This file is the contract between the binding (C++) and the agent (TypeScript): keep them in
// step. Errors thrown or rejected by the addon are `Error` objects with a stable string `code`
// (ENGINE_* / MODEL_* / ADDON_*), see docs/engine.md: MODEL_FORMAT, MODEL_IO,
// ENGINE_INVALID_ARGUMENT, ENGINE_INPUT_TYPE, ENGINE_INPUT_SHAPE, ENGINE_INPUT_NONFINITE,
// ENGINE_DISPOSED, ENGINE_CALIBRATION_UNSUPPORTED, ENGINE_OUT_OF_MEMORY, ENGINE_INTERNAL,
// ADDON_ISA_UNAVAILABLE, ADDON_NOTIFY, ADDON_INVALID_ARGUMENT.
// run() and runBatch() report every failure (argument errors included) by rejecting; the sync
// calls throw.
// Concurrent run()s on one Model are serialized: they wait in a per-model FIFO and one at a
// time runs on the libuv pool (one arena per model); distinct models run in parallel.

export type IsaName = 'scalar' | 'neon' | 'neon_dot' | 'sse41' | 'avx2' | 'avx512_vnni' | 'avx_vnni';

export interface EngineInfo {
  /** CPU features the dispatcher saw, e.g. { avx2: true, avx512_vnni: true, asimddp: false } */
  cpuFeatures: Record<string, boolean>;
  /** Kernel paths compiled into this binary, in preference order. */
  compiled: IsaName[];
  /** Paths this CPU can run (compiled and supported). */
  available: IsaName[];
  /** The path selected (VIGIL_ISA when set, else the best available). */
  selected: IsaName;
  /** e.g. "x86_64", "aarch64", "armv7" */
  arch: string;
  version: string;
}

export interface ModelInfo {
  architecture: 'vigil-tst';
  name: string;
  version: string;
  /** 'f32' (fp32 execution) or 'q8_static' */
  quantization: string;
  hyperparameters: {
    windowLength: number; // T
    channelCount: number; // C
    sampleRateHz: number;
    frontend: 'none' | 'spectral';
    frontendBins: number; // B (0 when frontend = none)
    bandLowHz: number;
    bandHighHz: number;
    featureLength: number; // T'
    featureChannels: number; // C'
    patchLength: number; // P
    tokens: number; // N
    embeddingLength: number; // d
    blockCount: number; // L
    headCount: number; // H
    feedForwardLength: number; // F
    layerNormEpsilon: number;
    classCount: number; // K
    hasReconstruction: boolean;
  };
  labels: string[];
  channelNames: string[];
  /** Raw input: Float32Array of windowLength * channelCount, time-major. */
  inputShape: [number, number];
  /** Every string metadata key of the GGUF (general.*, vigil-tst.*), for display. */
  metadata: Record<string, string | number | boolean>;
  isa: IsaName;
  /**
   * Attention arithmetic that runs: 'int8' when requested (LoadOptions.attention, else
   * $VIGIL_ATTENTION), or chosen by 'auto' (64 tokens or more), on a model with at least one
   * int8 linear; otherwise 'f32'.
   */
  attention: 'f32' | 'int8';
  /** Bytes of packed weights + arena owned by this model. */
  memoryBytes: number;
}

/**
 * One call's outputs. The four arrays are views on ONE fresh ArrayBuffer per window
 * (probs | embedding | patchError | channelError, back to back); a later call never writes
 * into it. runBatch() results share one buffer for the whole batch, each window its own range.
 */
export interface RunOutputs {
  probs: Float32Array; // [K]
  embedding: Float32Array; // [d]
  patchError: Float32Array; // [N] (empty without reconstruction)
  channelError: Float32Array; // [C'] (empty without reconstruction)
  /** Engine time for this call, microseconds (excludes queueing on the libuv pool). */
  inferenceUs: number;
}

export type AttentionMode = 'auto' | 'f32' | 'int8';

export interface LoadOptions {
  /** Force a kernel path for this model (like VIGIL_ISA); an unavailable one is an error. */
  isa?: IsaName;
  /** Worker threads for large models (default 1: the calling thread only). */
  threads?: number;
  /**
   * 'f32' (the model-format reference), 'int8' (QK^T with int16 Q and K below 128 tokens and
   * int8 values from there, PV in int8, dynamic scales, probabilities as u8; used on models
   * with an int8 linear and heads of at most 512, refused above; docs/engine.md "int8
   * attention") or 'auto' (int8 on such models from 64 tokens, where it measured faster; f32
   * below). Default: $VIGIL_ATTENTION when set, else 'auto'. Anything else:
   * ENGINE_INVALID_ARGUMENT naming options.attention.
   */
  attention?: AttentionMode;
}

export interface CalibrationStats {
  /** Per linear layer name (e.g. "blk.0.ffn_up"): max |input activation| seen. */
  inputAbsMax: Record<string, number>;
  windows: number;
}

export declare class Model {
  /** Load from a GGUF path or the bytes of one. Throws MODEL_* errors for bad files. */
  constructor(source: string | Uint8Array, options?: LoadOptions);
  readonly info: ModelInfo;
  /** Raw window in (Float32Array, windowLength*channelCount, time-major); off the JS thread. */
  run(input: Float32Array): Promise<RunOutputs>;
  /**
   * N windows in ONE libuv work item (the model mutex taken once): resolves to one RunOutputs
   * per window, in order, each equal to what run() gives for that window. Every element is
   * checked first: a bad one rejects the whole call before any run with its code
   * (ENGINE_INPUT_TYPE / ENGINE_INPUT_SHAPE / ENGINE_INPUT_NONFINITE), a message naming
   * "batch input i of N" and `index: i` on the error; so does a window the engine fails on.
   * Not an Array, or more than 1024 windows: ENGINE_INVALID_ARGUMENT. An empty array resolves
   * to []. Queued in the same per-model FIFO as run().
   */
  runBatch(inputs: Float32Array[]): Promise<RunOutputs[]>;
  runSync(input: Float32Array): RunOutputs;
  /** Front-end features only ([T'*C'] float32), for comparing with other implementations. */
  features(input: Float32Array): Float32Array;
  /**
   * fp32 models only: start recording each linear layer's input |max| during runs
   * (the converter's calibration pass). resetCalibration() clears, calibration() reads.
   */
  setCalibration(enabled: boolean): void;
  calibration(): CalibrationStats;
  resetCalibration(): void;
  /** Safe while runs are in flight: they finish first, later calls throw ENGINE_DISPOSED. */
  dispose(): void;
  readonly disposed: boolean;
}

export declare function engineInfo(): EngineInfo;

/**
 * Send a state string to systemd ("READY=1", "WATCHDOG=1", "STOPPING=1", "STATUS=...").
 * Returns false when $NOTIFY_SOCKET is unset; throws ADDON_NOTIFY on a socket error.
 * Handles path sockets and the abstract "@name" form.
 */
export declare function sdNotify(state: string): boolean;

export declare const version: string;
