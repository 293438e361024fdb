// One onnxruntime-node session of a bundle's ONNX model, with its front end: raw windows in,
// packed heads out. Shared by the in-process backend (onnx-backend.ts) and the worker thread
// (onnx-worker.ts), so both compute exactly the same thing.
//
// Batching: the graph's input is x float32 [batch, T', C'] (docs/model-format.md). When the
// model declares the batch dim dynamic (a symbolic name, as every bundle exported by
// scripts/train does), N windows are fed as ONE run with batch = N; when it is fixed (1), the
// windows run one after the other inside the same call. Either way the outputs come back packed:
// probs [N*K], embedding [N*d], patch_error [N*Np], channel_error [N*C'].
import type * as Ort from 'onnxruntime-node';
import type { InputSpec } from '../model/manifest-types.js';
import type { InferenceOutputs } from './backend.js';
import { createSpectralFrontend, featureShape, type SpectralFrontend } from './frontend.js';

export class OnnxBackendError extends Error {
  constructor(
    message: string,
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export type OrtModule = typeof Ort;

/** The four heads, each packed [count * width] (empty arrays for absent heads). */
export interface PackedOutputs {
  probs: Float32Array;
  embedding: Float32Array;
  patchError: Float32Array;
  channelError: Float32Array;
}

const OUTPUTS = ['probs', 'embedding', 'patch_error', 'channel_error'] as const;
const KEYS = {
  probs: 'probs',
  embedding: 'embedding',
  patch_error: 'patchError',
  channel_error: 'channelError',
} as const;

export class OnnxSession {
  readonly rawLength: number;
  readonly featLength: number;
  readonly featChannels: number;
  /** True when x's batch dim is symbolic: a batch is one ORT run. */
  readonly dynamicBatch: boolean;
  private readonly frontend: SpectralFrontend | null;
  private readonly fetches: (typeof OUTPUTS)[number][];

  private constructor(
    private readonly ort: OrtModule,
    private readonly session: Ort.InferenceSession,
    input: InputSpec,
  ) {
    const shape = featureShape(input.windowLength, input.channels.length, input.frontend);
    this.featLength = shape.length;
    this.featChannels = shape.channels;
    this.rawLength = input.windowLength * input.channels.length;
    this.frontend =
      input.frontend.kind === 'spectral'
        ? createSpectralFrontend(
            input.windowLength,
            input.channels.length,
            input.sampleRateHz,
            input.frontend,
          )
        : null;
    if (!session.inputNames.includes('x')) {
      throw new OnnxBackendError(
        `failed to open ONNX model: expected input "x" but received inputs ${JSON.stringify(session.inputNames)}`,
        'MODEL_FORMAT',
      );
    }
    if (!session.outputNames.includes('probs')) {
      throw new OnnxBackendError(
        `failed to open ONNX model: expected output "probs" but received ${JSON.stringify(session.outputNames)}`,
        'MODEL_FORMAT',
      );
    }
    const meta = session.inputMetadata[session.inputNames.indexOf('x')];
    const dim0 = meta && meta.isTensor ? meta.shape[0] : 1;
    this.dynamicBatch = typeof dim0 === 'string';
    this.fetches = OUTPUTS.filter((n) => session.outputNames.includes(n));
  }

  static async open(ort: OrtModule, onnxPath: string, input: InputSpec): Promise<OnnxSession> {
    let session: Ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(onnxPath, {
        intraOpNumThreads: 1,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
        // Idle ORT threads spin by default and burn a Pi core between windows.
        extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
      });
    } catch (err) {
      throw new OnnxBackendError(
        `failed to open ONNX model ${onnxPath}: ${(err as Error).message}`,
        'MODEL_LOAD',
        { cause: err },
      );
    }
    try {
      return new OnnxSession(ort, session, input);
    } catch (err) {
      await session.release().catch(() => undefined);
      throw err;
    }
  }

  /** `count` windows packed back to back in `raw` (count * rawLength values). */
  async run(raw: Float32Array, count: number): Promise<PackedOutputs> {
    if (!Number.isInteger(count) || count < 1 || raw.length !== count * this.rawLength) {
      throw new OnnxBackendError(
        `failed to run ONNX model with ${raw.length} values for ${count} windows: expected ${count} * ${this.rawLength}`,
        'ENGINE_SHAPE_MISMATCH',
      );
    }
    const featSize = this.featLength * this.featChannels;
    let feats = raw;
    if (this.frontend) {
      feats = new Float32Array(count * featSize);
      for (let i = 0; i < count; i++) {
        this.frontend.run(
          raw.subarray(i * this.rawLength, (i + 1) * this.rawLength),
          feats.subarray(i * featSize, (i + 1) * featSize),
        );
      }
    }
    if (this.dynamicBatch || count === 1) return this.runOnce(feats, count);
    const parts: PackedOutputs[] = [];
    for (let i = 0; i < count; i++)
      parts.push(await this.runOnce(feats.subarray(i * featSize, (i + 1) * featSize), 1));
    return concatPacked(parts);
  }

  private async runOnce(feats: Float32Array, count: number): Promise<PackedOutputs> {
    const x = new this.ort.Tensor('float32', feats, [count, this.featLength, this.featChannels]);
    const out = await this.session.run({ x }, [...this.fetches]);
    const packed: PackedOutputs = {
      probs: new Float32Array(0),
      embedding: new Float32Array(0),
      patchError: new Float32Array(0),
      channelError: new Float32Array(0),
    };
    for (const n of this.fetches) {
      const t = out[n];
      if (t) packed[KEYS[n]] = t.data as Float32Array;
    }
    return packed;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

function concatPacked(parts: PackedOutputs[]): PackedOutputs {
  const cat = (k: keyof PackedOutputs) => {
    const out = new Float32Array(parts.reduce((n, p) => n + p[k].length, 0));
    let o = 0;
    for (const p of parts) {
      out.set(p[k], o);
      o += p[k].length;
    }
    return out;
  };
  return {
    probs: cat('probs'),
    embedding: cat('embedding'),
    patchError: cat('patchError'),
    channelError: cat('channelError'),
  };
}

/** Window i's heads as views into the packed arrays (no copy). */
export function splitPacked(p: PackedOutputs, count: number, inferenceUs: number): InferenceOutputs[] {
  const view = (a: Float32Array, i: number) => {
    const w = a.length / count;
    return a.subarray(i * w, (i + 1) * w);
  };
  return Array.from({ length: count }, (_, i) => ({
    probs: view(p.probs, i),
    embedding: view(p.embedding, i),
    patchError: view(p.patchError, i),
    channelError: view(p.channelError, i),
    inferenceUs,
  }));
}

/** Windows back to back in one new array; a wrong length is an error naming its index. */
export function packWindows(windows: readonly Float32Array[], rawLength: number): Float32Array {
  const raw = new Float32Array(windows.length * rawLength);
  windows.forEach((w, i) => {
    if (w.length !== rawLength) {
      throw Object.assign(
        new OnnxBackendError(
          `failed to run ONNX model with window ${i} of ${windows.length} of ${w.length} values: expected ${rawLength}`,
          'ENGINE_SHAPE_MISMATCH',
        ),
        { index: i },
      );
    }
    raw.set(w, i * rawLength);
  });
  return raw;
}
