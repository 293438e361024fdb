// onnxruntime-node as a Backend (the fp32 reference and the engine's performance peer).
// The ONNX graph takes the front end's output: x float32 [1, T', C']; for frontend = "spectral"
// the features are computed here in TypeScript (agent/inference/frontend.ts) first.
//
// Event loop: ORT's run() executes on the JS thread (onnxruntime-node wraps a synchronous call).
// We keep its cost bounded rather than hide it: one intra-op and one inter-op thread, no spinning
// idle threads, and every run's wall time on the JS thread is measured (blockedUs, reported in
// stats) so health shows how long the loop was held. A worker thread would free the loop, but ORT
// crashes with sessions in several workers; for vigil-tst sized models (sub-millisecond to a few
// ms per window) the in-thread cost is the smaller risk.
import * as ort from 'onnxruntime-node';
import type { Manifest } from '../model/manifest-types.js';
import type { Backend, InferenceOutputs } from './backend.js';
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

export interface OnnxBackendStats {
  runs: number;
  /** Total and worst time the JS thread was held by frontend + ORT run, microseconds. */
  blockedUsTotal: number;
  blockedUsMax: number;
}

const OUTPUTS = ['probs', 'embedding', 'patch_error', 'channel_error'] as const;

export class OnnxBackend implements Backend {
  readonly kind = 'onnx' as const;
  readonly detail = 'cpu';
  private readonly frontend: SpectralFrontend | null;
  private readonly featLen: number;
  private readonly featCh: number;
  private readonly rawLen: number;
  private readonly s: OnnxBackendStats = { runs: 0, blockedUsTotal: 0, blockedUsMax: 0 };

  private constructor(
    private readonly session: ort.InferenceSession,
    manifest: Manifest,
  ) {
    const inp = manifest.input;
    const shape = featureShape(inp.windowLength, inp.channels.length, inp.frontend);
    this.featLen = shape.length;
    this.featCh = shape.channels;
    this.rawLen = inp.windowLength * inp.channels.length;
    this.frontend =
      inp.frontend.kind === 'spectral'
        ? createSpectralFrontend(inp.windowLength, inp.channels.length, inp.sampleRateHz, inp.frontend)
        : null;
    for (const name of ['x']) {
      if (!session.inputNames.includes(name)) {
        throw new OnnxBackendError(
          `failed to open ONNX model: expected input "x" but received inputs ${JSON.stringify(session.inputNames)}`,
          'MODEL_FORMAT',
        );
      }
    }
    if (!session.outputNames.includes('probs')) {
      throw new OnnxBackendError(
        `failed to open ONNX model: expected output "probs" but received ${JSON.stringify(session.outputNames)}`,
        'MODEL_FORMAT',
      );
    }
  }

  static async open(onnxPath: string, manifest: Manifest): Promise<OnnxBackend> {
    let session: ort.InferenceSession;
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
    return new OnnxBackend(session, manifest);
  }

  stats(): OnnxBackendStats {
    return { ...this.s };
  }

  async run(window: Float32Array): Promise<InferenceOutputs> {
    if (window.length !== this.rawLen) {
      throw new OnnxBackendError(
        `failed to run ONNX model with window of ${window.length} values: expected ${this.rawLen}`,
        'ENGINE_SHAPE_MISMATCH',
      );
    }
    const t0 = process.hrtime.bigint();
    const feats = this.frontend ? this.frontend.run(window) : window;
    const x = new ort.Tensor('float32', feats, [1, this.featLen, this.featCh]);
    const fetches = OUTPUTS.filter((n) => this.session.outputNames.includes(n));
    const out = await this.session.run({ x }, fetches as unknown as string[]);
    const us = Number(process.hrtime.bigint() - t0) / 1000;
    this.s.runs++;
    this.s.blockedUsTotal += us;
    this.s.blockedUsMax = Math.max(this.s.blockedUsMax, us);
    const get = (n: string) => (out[n] ? (out[n].data as Float32Array) : new Float32Array(0));
    return {
      probs: get('probs'),
      embedding: get('embedding'),
      patchError: get('patch_error'),
      channelError: get('channel_error'),
      inferenceUs: us,
    };
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
