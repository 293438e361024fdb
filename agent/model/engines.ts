// The engines the model tools run a GGUF or an ONNX file with, outside the agent's pipeline:
// the native addon (fp32 calibration mode and int8), the TypeScript reference (same contract,
// used when the addon is unavailable and in unit tests), and onnxruntime on the fp32 ONNX.
// All take the raw window (windowLength x channels, time-major).
import '../inference/ort-telemetry.js'; // before onnxruntime-node: its telemetry off (ort-telemetry.ts)
import { applyFrontend } from '../inference/frontend.js';
import { ModelError } from './model-error.js';
import { loadNativeAddon } from './native-addon.js';
import type { HeadOutputs } from './outputs-compare.js';
import { ReferenceModel } from './reference-forward.js';
import { readTstGguf } from './tst-gguf.js';
import { tstDims, type TstHyperparameters } from './tst-hyperparameters.js';

export interface GgufEngine {
  readonly kind: 'native' | 'reference';
  /** e.g. the ISA for native */
  readonly detail: string;
  run(raw: Float32Array): HeadOutputs;
  /** Record each linear layer's input |max| (fp32 models). */
  setCalibration(enabled: boolean): void;
  calibration(): { inputAbsMax: Record<string, number>; windows: number };
  dispose(): void;
}

export type GgufEngineFactory = { kind: 'native' | 'reference'; open(gguf: Uint8Array): GgufEngine };

export async function nativeEngineFactory(): Promise<GgufEngineFactory> {
  const addon = await loadNativeAddon();
  return {
    kind: 'native',
    open(gguf: Uint8Array): GgufEngine {
      const m = new addon.Model(gguf);
      return {
        kind: 'native',
        detail: m.info.isa,
        run: (raw) => m.runSync(raw),
        setCalibration: (on) => m.setCalibration(on),
        calibration: () => m.calibration(),
        dispose: () => m.dispose(),
      };
    },
  };
}

function frontendOf(h: TstHyperparameters): (raw: Float32Array) => Float32Array {
  const spec = { kind: h.frontend, bins: h.frontendBins, bandLowHz: h.bandLowHz, bandHighHz: h.bandHighHz };
  return (raw) => applyFrontend(raw, h.windowLength, h.channelCount, h.sampleRateHz, spec);
}

export function referenceEngineFactory(): GgufEngineFactory {
  return {
    kind: 'reference',
    open(gguf: Uint8Array): GgufEngine {
      const { h, tensors } = readTstGguf(gguf);
      const model = new ReferenceModel(h, tensors);
      const fe = frontendOf(h);
      return {
        kind: 'reference',
        detail: 'typescript',
        run: (raw) => model.run(fe(raw)),
        setCalibration: (on) => {
          model.recording = on;
        },
        calibration: () => ({ inputAbsMax: { ...model.inputAbsMax }, windows: model.windows }),
        dispose: () => undefined,
      };
    },
  };
}

/** `auto`: native when the addon loads, else the reference (with the reason). */
export async function ggufEngineFactory(
  prefer: 'auto' | 'native' | 'reference',
): Promise<{ factory: GgufEngineFactory; note?: string }> {
  if (prefer === 'reference') return { factory: referenceEngineFactory() };
  try {
    return { factory: await nativeEngineFactory() };
  } catch (err) {
    if (prefer === 'native') throw err;
    return {
      factory: referenceEngineFactory(),
      note: `${(err as Error).message}; using the TypeScript reference engine`,
    };
  }
}

export interface OnnxEngine {
  run(raw: Float32Array): Promise<HeadOutputs>;
  dispose(): Promise<void>;
}

/** onnxruntime on an fp32 vigil-tst ONNX (input x [1, T', C'] after the front end). */
export async function openOnnxEngine(onnx: Uint8Array | string, h: TstHyperparameters): Promise<OnnxEngine> {
  let ort: typeof import('onnxruntime-node');
  try {
    ort = await import('onnxruntime-node');
  } catch (err) {
    throw new ModelError(
      'MODEL_BACKEND_UNAVAILABLE',
      `onnxruntime-node does not load on ${process.platform}/${process.arch}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  const opts = { intraOpNumThreads: 1, interOpNumThreads: 1 };
  const session =
    typeof onnx === 'string'
      ? await ort.InferenceSession.create(onnx, opts)
      : await ort.InferenceSession.create(onnx, opts);
  const { Tf, Cf } = tstDims(h);
  const fe = frontendOf(h);
  const empty = new Float32Array(0);
  return {
    async run(raw) {
      const x = fe(raw);
      const out = await session.run({ x: new ort.Tensor('float32', x, [1, Tf, Cf]) });
      const get = (n: string): Float32Array =>
        out[n] ? Float32Array.from(out[n].data as Float32Array) : empty;
      const o: HeadOutputs = {
        probs: get('probs'),
        embedding: get('embedding'),
        patchError: get('patch_error'),
        channelError: get('channel_error'),
      };
      if (!h.hasReconstruction) {
        o.patchError = empty;
        o.channelError = empty;
      }
      return o;
    },
    async dispose() {
      await session.release();
    },
  };
}
