// A model bundle directory (docs/model-format.md §5, docs/bundles.md): load and validate the
// manifest (JSON Schema + cross-field checks), check every file's size and SHA-256, and open a
// Backend for it through agent/inference/open-backend.ts.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { Backend } from '../inference/backend.js';
import { openBackend } from '../inference/open-backend.js';
import type { AddonModule } from '../inference/native-backend.js';
import { manifestSchema } from './manifest-schema.js';
import type { BundleFile, Manifest } from './manifest-types.js';
import { ModelError } from './model-error.js';
import { loadNativeAddon } from './native-addon.js';

export const MANIFEST_FILE = 'manifest.json';

export interface Bundle {
  dir: string;
  manifest: Manifest;
}

// ajv-formats is CommonJS with a default export; under NodeNext its callable sits on .default.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (
  a: Ajv,
) => Ajv;
const ajv = new Ajv({ allErrors: true, strict: true });
addFormats(ajv);
const validate = ajv.compile<Manifest>(manifestSchema);

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Schema and cross-field problems of a parsed manifest (empty when valid). */
export function manifestProblems(m: unknown): string[] {
  if (!validate(m)) {
    return (validate.errors ?? []).map((e) => {
      const where = e.instancePath || '(root)';
      const extra =
        e.keyword === 'additionalProperties'
          ? ` (${String((e.params as { additionalProperty?: string }).additionalProperty)})`
          : '';
      return `${where}: ${e.message ?? e.keyword}${extra}`;
    });
  }
  const p: string[] = [];
  if (!m.labels.includes(m.normalLabel))
    p.push(
      `/normalLabel: expected one of ${JSON.stringify(m.labels)} but received ${JSON.stringify(m.normalLabel)}`,
    );
  const fe = m.input.frontend;
  if (
    fe.kind === 'spectral' &&
    (fe.bins === undefined || fe.bandLowHz === undefined || fe.bandHighHz === undefined)
  ) {
    p.push('/input/frontend: a spectral front end needs bins, bandLowHz and bandHighHz');
  }
  if (!m.files.gguf && !m.files.onnx)
    p.push('/files: expected a gguf or an onnx model file but received neither');
  return p;
}

/** Read and validate manifest.json (no digest check). Throws MODEL_BUNDLE_INVALID. */
export function loadBundle(dir: string): Bundle {
  const file = path.join(dir, MANIFEST_FILE);
  if (!existsSync(file))
    throw new ModelError(
      'MODEL_BUNDLE_INVALID',
      `${dir}: expected a model bundle directory with ${MANIFEST_FILE} but it has none`,
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ModelError(
      'MODEL_BUNDLE_INVALID',
      `${file}: expected JSON but parsing failed: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const problems = manifestProblems(parsed);
  if (problems.length > 0)
    throw new ModelError(
      'MODEL_BUNDLE_INVALID',
      `${file}: invalid manifest:\n  - ${problems.join('\n  - ')}`,
    );
  return { dir, manifest: parsed as Manifest };
}

export interface DigestCheck {
  key: string;
  path: string;
  ok: boolean;
  problem?: string;
}

/** Check every listed file's size and SHA-256. */
export function checkDigests(b: Bundle): DigestCheck[] {
  const out: DigestCheck[] = [];
  for (const [key, f] of Object.entries(b.manifest.files) as [string, BundleFile][]) {
    const p = path.join(b.dir, f.path);
    if (!existsSync(p)) {
      out.push({ key, path: f.path, ok: false, problem: 'missing' });
      continue;
    }
    const size = statSync(p).size;
    if (size !== f.bytes) {
      out.push({ key, path: f.path, ok: false, problem: `size ${size} bytes, manifest says ${f.bytes}` });
      continue;
    }
    const digest = sha256Hex(readFileSync(p));
    out.push(
      digest === f.sha256
        ? { key, path: f.path, ok: true }
        : { key, path: f.path, ok: false, problem: `sha256 ${digest}, manifest says ${f.sha256}` },
    );
  }
  return out;
}

/** Load, validate and digest-check a bundle; throws MODEL_DIGEST_MISMATCH naming the files. */
export function loadVerifiedBundle(dir: string): Bundle {
  const b = loadBundle(dir);
  const bad = checkDigests(b).filter((c) => !c.ok);
  if (bad.length > 0) {
    throw new ModelError(
      'MODEL_DIGEST_MISMATCH',
      `${dir}: ${bad.map((c) => `${c.path} (${c.key}): ${c.problem}`).join('; ')}`,
    );
  }
  return b;
}

export interface OpenBundleOptions {
  prefer?: 'auto' | 'native' | 'onnx';
  threads?: number;
  /** Injected addon (tests); by default loaded with loadNativeAddon(). */
  addon?: AddonModule | null;
}

/** Open a Backend for a (verified) bundle. */
export async function openBundleBackend(
  b: Bundle,
  opts: OpenBundleOptions = {},
): Promise<{ backend: Backend; reason: string }> {
  let addon: AddonModule | null = opts.addon ?? null;
  let reason: string | undefined;
  if (opts.addon === undefined && opts.prefer !== 'onnx' && b.manifest.files.gguf) {
    try {
      addon = await loadNativeAddon();
    } catch (err) {
      reason = (err as Error).message;
    }
  }
  return openBackend({
    modelId: b.manifest.name,
    config: { backend: opts.prefer ?? 'auto', threads: opts.threads ?? 1 },
    bundleDir: b.dir,
    manifest: b.manifest,
    addon,
    addonUnavailableReason: reason,
  });
}
