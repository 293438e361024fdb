// The native addon for the model tools (convert, verify, predict, eval), through the agent's
// probing loader (agent/inference/addon-loader.ts). Failure is MODEL_BACKEND_UNAVAILABLE.
import { loadAddon, type AddonModule } from '../inference/addon-loader.js';
import { ModelError } from './model-error.js';

/** The addon module, probed and loaded once. Throws MODEL_BACKEND_UNAVAILABLE with the reason. */
export async function loadNativeAddon(): Promise<AddonModule> {
  try {
    return await loadAddon();
  } catch (err) {
    throw new ModelError(
      'MODEL_BACKEND_UNAVAILABLE',
      `native engine unavailable: ${(err as Error).message}`,
      { cause: err },
    );
  }
}
