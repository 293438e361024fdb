// onnxruntime-node as a Backend, IN PROCESS: the session runs on the JS thread. This is the
// `inference.onnxThread: main` mode and the reference the worker-thread backend
// (onnx-worker-backend.ts, the default) is tested against. onnxruntime-node's run() is a
// synchronous native call deferred by one setImmediate, so every run holds the event loop for
// its whole duration: its cost is measured (blockedUs) rather than hidden.
// The ONNX graph takes the front end's output: x float32 [batch, T', C']; for frontend =
// "spectral" the features are computed here in TypeScript (agent/inference/frontend.ts) first.
import './ort-telemetry.js'; // before onnxruntime-node: its telemetry off (ort-telemetry.ts)
import * as ort from 'onnxruntime-node';
import type { Manifest } from '../model/manifest-types.js';
import type { Backend, BackendCounters, InferenceOutputs } from './backend.js';
import { OnnxBackendError, OnnxSession, packWindows, splitPacked } from './onnx-session.js';

export { OnnxBackendError } from './onnx-session.js';

export interface OnnxBackendStats {
  runs: number;
  /** Total and worst time the JS thread was held by frontend + ORT run, microseconds. */
  blockedUsTotal: number;
  blockedUsMax: number;
}

export class OnnxBackend implements Backend {
  readonly kind = 'onnx' as const;
  readonly detail = 'cpu';
  private readonly s: OnnxBackendStats = { runs: 0, blockedUsTotal: 0, blockedUsMax: 0 };
  private disposed = false;

  private constructor(private readonly session: OnnxSession) {}

  static async open(onnxPath: string, manifest: Manifest): Promise<OnnxBackend> {
    return new OnnxBackend(await OnnxSession.open(ort, onnxPath, manifest.input));
  }

  get dynamicBatch(): boolean {
    return this.session.dynamicBatch;
  }

  stats(): OnnxBackendStats {
    return { ...this.s };
  }

  counters(): BackendCounters {
    return { state: this.disposed ? 'disposed' : 'inline', restarts: 0, crashes: 0, hopUsMean: 0 };
  }

  async run(window: Float32Array): Promise<InferenceOutputs> {
    return (await this.runBatch([window]))[0] as InferenceOutputs;
  }

  async runBatch(windows: readonly Float32Array[]): Promise<InferenceOutputs[]> {
    if (this.disposed)
      throw new OnnxBackendError('failed to run ONNX model: the backend was disposed', 'BACKEND_DISPOSED');
    if (windows.length === 0) return [];
    const raw = packWindows(windows, this.session.rawLength);
    const t0 = process.hrtime.bigint();
    const out = await this.session.run(raw, windows.length);
    const us = Number(process.hrtime.bigint() - t0) / 1000;
    this.s.runs++;
    this.s.blockedUsTotal += us;
    this.s.blockedUsMax = Math.max(this.s.blockedUsMax, us);
    return splitPacked(out, windows.length, us / windows.length);
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.session.release();
  }
}
