// Shared setup for the binding tests: the real built addon (through the probing loader) and
// tiny models written to a temp dir.
import '../helpers/quiet-logs.js';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { defaultAddonPath, loadAddon, type AddonModule } from '../../agent/inference/addon-loader.js';
import { buildTinyGguf, type TinyGgufSpec } from '../fixtures/engine/tiny-gguf.js';
import { tempDir } from '../helpers/temp-dir.js';

export async function realAddon(): Promise<AddonModule> {
  const file = defaultAddonPath();
  if (!existsSync(file)) {
    throw new Error(`binding tests need the built addon at ${file}: run npm run build:addon first`);
  }
  return loadAddon({ addonPath: file });
}

let dir: string | undefined;
export function writeModel(name: string, spec: TinyGgufSpec): string {
  // A new dir once the last one was removed (each file's temp dirs go after its tests).
  if (dir === undefined || !existsSync(dir)) dir = tempDir('vigil-binding-');
  const file = path.join(dir, name);
  writeFileSync(file, buildTinyGguf(spec));
  return file;
}

/** Runs fn and returns the error it throws (fails the test when it does not throw). */
export function thrown(fn: () => unknown): Error & { code?: string } {
  try {
    fn();
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('expected a throw');
}

export async function rejected(p: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('expected a rejection');
}
