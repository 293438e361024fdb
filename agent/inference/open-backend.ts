// Choosing and opening a model's backend. `auto`: the native engine when the bundle carries a
// GGUF (the model is in the engine's family) and the addon loaded (its probe passed), else
// onnxruntime when the bundle has an ONNX file and ORT loads on this platform (it has no 32-bit
// ARM build), else one error that says why each was impossible. `native` / `onnx` force one.
// onnxruntime runs in a worker thread (onnxThread 'worker', the default) or, for comparison,
// on the JS thread ('main'); docs/backends.md.
import path from 'node:path';
import type { ModelConfig } from '../config/types.js';
import type { Manifest } from '../model/manifest-types.js';
import type { Backend } from './backend.js';
import { openNativeBackend, type AddonModule } from './native-backend.js';

export class BackendError extends Error {
  constructor(
    message: string,
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface OpenBackendInput {
  modelId: string;
  config: Pick<ModelConfig, 'backend' | 'threads'>;
  bundleDir: string;
  manifest: Manifest;
  /** The loaded, probed addon, or null with the reason it is unavailable. */
  addon: AddonModule | null;
  addonUnavailableReason?: string;
  /** Where onnxruntime runs: a worker thread per model (default) or the JS thread. */
  onnxThread?: 'worker' | 'main';
}

export interface OpenedBackend {
  backend: Backend;
  /** Why this backend: for the log and `vigil` diagnostics. */
  reason: string;
}

export async function openBackend(i: OpenBackendInput): Promise<OpenedBackend> {
  const want = i.config.backend;
  const failures: string[] = [];

  if (want === 'native' || want === 'auto') {
    try {
      const b = openNative(i);
      return {
        backend: b,
        reason: want === 'native' ? 'configured native' : `auto: native engine (${b.detail})`,
      };
    } catch (err) {
      if (want === 'native') throw err;
      failures.push(`native: ${(err as Error).message}`);
    }
  }
  try {
    const b = await openOnnx(i);
    return {
      backend: b,
      reason: want === 'onnx' ? 'configured onnx' : `auto: onnxruntime (${failures.join('; ')})`,
    };
  } catch (err) {
    if (want === 'onnx') throw err;
    failures.push(`onnx: ${(err as Error).message}`);
  }
  throw new BackendError(
    `failed to open a backend for model ${i.modelId}: ${failures.join('; ')}`,
    'BACKEND_UNAVAILABLE',
  );
}

function openNative(i: OpenBackendInput): Backend {
  const gguf = i.manifest.files.gguf;
  if (!gguf)
    throw new BackendError(
      `bundle ${i.bundleDir} has no GGUF (files.gguf): the model is not in the native engine's family`,
      'BACKEND_UNAVAILABLE',
    );
  if (!i.addon)
    throw new BackendError(
      `the native addon is unavailable: ${i.addonUnavailableReason ?? 'not loaded'}`,
      'ADDON_UNAVAILABLE',
    );
  const b = openNativeBackend(i.addon, path.join(i.bundleDir, gguf.path), i.config.threads);
  const [t, c] = b.inputShape;
  const want = [i.manifest.input.windowLength, i.manifest.input.channels.length];
  if (t !== want[0] || c !== want[1]) {
    void b.dispose();
    throw new BackendError(
      `failed to open ${gguf.path}: expected input shape [${want.join(', ')}] (manifest) but the GGUF has [${t}, ${c}]`,
      'MODEL_MISMATCH',
    );
  }
  return b;
}

async function openOnnx(i: OpenBackendInput): Promise<Backend> {
  const onnx = i.manifest.files.onnx;
  if (!onnx)
    throw new BackendError(`bundle ${i.bundleDir} has no ONNX file (files.onnx)`, 'BACKEND_UNAVAILABLE');
  const file = path.join(i.bundleDir, onnx.path);
  if ((i.onnxThread ?? 'worker') === 'worker') {
    // onnxruntime-node is loaded in the worker only; a platform without it fails there, at open.
    const { OnnxWorkerBackend } = await import('./onnx-worker-backend.js');
    return OnnxWorkerBackend.open(file, i.manifest);
  }
  let mod: typeof import('./onnx-backend.js');
  try {
    // Loaded on demand: onnxruntime-node has no 32-bit ARM binary and must not break startup there.
    mod = await import('./onnx-backend.js');
  } catch (err) {
    throw new BackendError(
      `onnxruntime-node does not load on ${process.platform}/${process.arch}: ${(err as Error).message}`,
      'BACKEND_UNAVAILABLE',
      {
        cause: err,
      },
    );
  }
  return mod.OnnxBackend.open(file, i.manifest);
}
