// Loads the native addon for the model tools (convert, verify, predict). Prefers the agent's
// loader (agent/inference/addon-loader.ts: probed in a child process) when present, else the
// built module under build/Release/. Failure is a MODEL_BACKEND_UNAVAILABLE error with the reason.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { AddonModule } from '../inference/native-backend.js';
import { PACKAGE_ROOT } from '../package-root.js';
import { ModelError } from './model-error.js';

let cached: Promise<AddonModule> | undefined;

async function load(): Promise<AddonModule> {
  // A variable specifier: the loader module is another engineer's and may not exist yet.
  const loaderPath = './../inference/addon-loader.js';
  try {
    const mod = (await import(loaderPath)) as Record<string, unknown>;
    for (const name of ['loadAddon', 'loadNativeAddon', 'requireAddon']) {
      const fn = mod[name];
      if (typeof fn === 'function') {
        const r = (await (fn as () => unknown)()) as unknown;
        // Loaders may return the module or {addon, reason}.
        if (r && typeof r === 'object' && 'Model' in r) return r as AddonModule;
        if (r && typeof r === 'object' && 'addon' in r) {
          const a = (r as { addon: AddonModule | null; reason?: string }).addon;
          if (a) return a;
          throw new Error((r as { reason?: string }).reason ?? 'the addon loader returned no module');
        }
      }
    }
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code !== 'ERR_MODULE_NOT_FOUND') throw err;
  }
  const candidates = [path.join(PACKAGE_ROOT, 'build', 'Release', 'vigil_addon.node'), path.join(PACKAGE_ROOT, 'build', 'vigil_addon.node')];
  const file = candidates.find((p) => existsSync(p));
  if (!file) throw new Error(`the native addon is not built (looked for ${candidates.join(', ')}); run npm run build:addon`);
  return createRequire(import.meta.url)(file) as AddonModule;
}

/** The addon module, loaded once. Throws MODEL_BACKEND_UNAVAILABLE with the reason. */
export async function loadNativeAddon(): Promise<AddonModule> {
  cached ??= load();
  try {
    return await cached;
  } catch (err) {
    cached = undefined;
    throw new ModelError('MODEL_BACKEND_UNAVAILABLE', `native engine unavailable: ${(err as Error).message}`, { cause: err });
  }
}
