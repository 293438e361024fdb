// Start-up: load the native addon (probed; its absence is not fatal) and open every model the
// assets use: verified bundle -> backend (auto|native|onnx) -> ModelRuntime with its queue.
// A model that cannot be opened is fatal: one coded error, backends opened so far disposed.
import type { AgentConfig } from '../config/types.js';
import { loadAddon } from '../inference/addon-loader.js';
import type { AddonModule } from '../inference/native-backend.js';
import { openBackend } from '../inference/open-backend.js';
import type { Logger } from '../log/logger.js';
import { loadVerifiedBundle } from '../model/bundle.js';
import { ModelRuntime } from './model-runtime.js';

export class AgentError extends Error {
  constructor(
    message: string,
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface OpenedModels {
  addon: AddonModule | null;
  models: Map<string, ModelRuntime>;
}

export async function openModels(
  config: AgentConfig,
  o: {
    /** undefined: load it; null: run without it. */
    addon: AddonModule | null | undefined;
    now: () => number;
    log: Logger;
    onProgress: () => void;
  },
): Promise<OpenedModels> {
  let addon: AddonModule | null = o.addon ?? null;
  let addonReason: string | undefined;
  if (o.addon === undefined) {
    try {
      addon = await loadAddon();
    } catch (err) {
      addonReason = (err as Error).message;
      o.log.warn({ reason: addonReason }, 'native addon unavailable');
    }
  }
  const models = new Map<string, ModelRuntime>();
  try {
    for (const id of new Set(config.assets.map((a) => a.model))) {
      const mc = config.models[id];
      if (!mc) {
        throw new AgentError(
          `asset model ${id}: expected one of the configured models (${Object.keys(config.models).join(', ')})`,
          'CONFIG_INVALID',
        );
      }
      const bundle = loadVerifiedBundle(mc.bundle);
      const opened = await openBackend({
        modelId: id,
        config: mc,
        bundleDir: bundle.dir,
        manifest: bundle.manifest,
        addon,
        addonUnavailableReason: addonReason,
        onnxThread: config.inference.onnxThread,
      });
      o.log.info(
        {
          model: id,
          version: bundle.manifest.version,
          backend: opened.backend.kind,
          detail: opened.backend.detail,
          reason: opened.reason,
        },
        'model ready',
      );
      models.set(
        id,
        new ModelRuntime(id, bundle.manifest, opened.backend, {
          capacity: config.inference.queueDepth,
          policy: config.inference.dropPolicy,
          batchMax: config.inference.batchMax,
          now: o.now,
          onProgress: o.onProgress,
        }),
      );
    }
  } catch (err) {
    for (const m of models.values()) await m.backend.dispose().catch(() => undefined);
    throw err;
  }
  return { addon, models };
}
