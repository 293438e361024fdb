// Finds and loads the native engine (build/Release/vigil_addon.node) safely: the binary is first
// probed in a child process (`process.execPath` loads it and calls engineInfo()), so a SIGILL
// from a binary built for another CPU, a wrong glibc or a broken file kills only the child.
// Every failure becomes one AddonError (ADDON_UNAVAILABLE / ADDON_UNSUPPORTED_CPU) whose message
// names the command that fixes it.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { EngineInfo } from '../../addon/binding/vigil_addon.js';
import { createLogger } from '../log/logger.js';
import { PACKAGE_ROOT } from '../package-root.js';

/** Typed access to everything the native module exports (addon/binding/vigil_addon.d.ts). */
export type AddonModule = typeof import('../../addon/binding/vigil_addon.js');
export type {
  EngineInfo,
  IsaName,
  Model,
  ModelInfo,
  RunOutputs,
  LoadOptions,
  CalibrationStats,
} from '../../addon/binding/vigil_addon.js';

export type AddonErrorCode = 'ADDON_UNAVAILABLE' | 'ADDON_UNSUPPORTED_CPU';

const BUILD_HINT =
  'build it with `npm run build:addon` (needs cmake and a C++ compiler: `sudo apt-get install -y cmake g++`)';

export class AddonError extends Error {
  constructor(
    readonly code: AddonErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'AddonError';
  }
}

export interface ProbeResult {
  ok: boolean;
  info?: EngineInfo;
  /** Set when the child died on a signal (SIGILL: instructions this CPU lacks). */
  signal?: NodeJS.Signals | null;
  exitCode?: number | null;
  /** The child's error line (error code and message) when it failed. */
  detail?: string;
}

export interface LoadAddonOptions {
  /** Defaults to <package root>/build/Release/vigil_addon.node, or $VIGIL_ADDON_PATH. */
  addonPath?: string;
  env?: NodeJS.ProcessEnv;
  /** Probe timeout; a hung probe counts as unavailable. */
  probeTimeoutMs?: number;
}

// The child prints one JSON line: {"ok":true,"info":...} or {"ok":false,"code":..,"message":..}.
const PROBE_SCRIPT = `
const file = process.argv[1];
try {
  const addon = require(file);
  const info = addon.engineInfo();
  process.stdout.write(JSON.stringify({ ok: true, info }));
} catch (err) {
  process.stdout.write(JSON.stringify({ ok: false, code: err && err.code, message: String(err && err.message || err) }));
  process.exitCode = 3;
}`;

/** Where the addon is expected: $VIGIL_ADDON_PATH, else build/Release under the package root. */
export function defaultAddonPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.VIGIL_ADDON_PATH ?? path.join(PACKAGE_ROOT, 'build', 'Release', 'vigil_addon.node');
}

/** Loads `file` in a child Node process and calls engineInfo() there. Never throws. */
export function probeAddon(
  file: string,
  env: NodeJS.ProcessEnv = process.env,
  timeoutMs = 15_000,
): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', PROBE_SCRIPT, file], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: timeoutMs,
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', (e) =>
      resolve({ ok: false, detail: `failed to start ${process.execPath}: ${e.message}` }),
    );
    child.on('close', (exitCode, signal) => {
      let parsed: { ok?: boolean; info?: EngineInfo; code?: string; message?: string } | undefined;
      try {
        parsed = out ? (JSON.parse(out) as typeof parsed) : undefined;
      } catch {
        parsed = undefined; // a partial line from a child that died mid-write: judged by exit below
      }
      if (parsed?.ok && exitCode === 0 && parsed.info) {
        resolve({ ok: true, info: parsed.info, exitCode, signal });
        return;
      }
      const detail = parsed?.message
        ? `${parsed.code ? `[${parsed.code}] ` : ''}${parsed.message}`
        : err.trim().split('\n').slice(-3).join(' ') || undefined;
      resolve({ ok: false, exitCode, signal, detail });
    });
  });
}

/** Turns a failed probe into the one actionable error. */
export function probeFailure(file: string, r: ProbeResult): AddonError {
  if (r.signal === 'SIGILL') {
    return new AddonError(
      'ADDON_UNSUPPORTED_CPU',
      `native engine ${file} crashed with SIGILL while loading: it was built for a CPU with instructions this one lacks. ` +
        `Rebuild it on this machine with \`npm run build:addon\`, or use the onnx backend.`,
    );
  }
  if (r.detail?.includes('ADDON_ISA_UNAVAILABLE')) {
    return new AddonError(
      'ADDON_UNSUPPORTED_CPU',
      `native engine cannot use the forced kernel path: ${r.detail}. Unset VIGIL_ISA or set it to a path \`vigil engine info\` lists as available.`,
    );
  }
  const how = r.signal ? `was killed by ${r.signal}` : `failed (exit ${r.exitCode ?? 'unknown'})`;
  return new AddonError(
    'ADDON_UNAVAILABLE',
    `native engine ${file} ${how} while loading${r.detail ? `: ${r.detail}` : ''}. Rebuild it: rm -rf build && ${BUILD_HINT}.`,
  );
}

const cache = new Map<string, Promise<AddonModule>>();

/**
 * The native module, probed in a child process once per path and then loaded in-process.
 * Throws AddonError (ADDON_UNAVAILABLE / ADDON_UNSUPPORTED_CPU).
 */
export function loadAddon(options: LoadAddonOptions = {}): Promise<AddonModule> {
  const env = options.env ?? process.env;
  const file = path.resolve(options.addonPath ?? defaultAddonPath(env));
  let p = cache.get(file);
  if (!p) {
    p = loadUncached(file, env, options.probeTimeoutMs);
    cache.set(file, p);
    p.catch(() => cache.delete(file)); // a later call (after a rebuild) tries again
  }
  return p;
}

async function loadUncached(file: string, env: NodeJS.ProcessEnv, timeoutMs?: number): Promise<AddonModule> {
  if (!existsSync(file)) {
    throw new AddonError(
      'ADDON_UNAVAILABLE',
      `native engine not found at ${file}: ${BUILD_HINT}, or use the onnx backend.`,
    );
  }
  const probe = await probeAddon(file, env, timeoutMs);
  if (!probe.ok) throw probeFailure(file, probe);
  let addon: AddonModule;
  try {
    addon = createRequire(import.meta.url)(file) as AddonModule;
  } catch (err) {
    throw new AddonError(
      'ADDON_UNAVAILABLE',
      `native engine ${file} failed to load in-process: ${(err as Error).message}. ${BUILD_HINT}.`,
      {
        cause: err,
      },
    );
  }
  createLogger('addon-loader').debug(
    { file, selected: probe.info?.selected, available: probe.info?.available, arch: probe.info?.arch },
    'native engine loaded',
  );
  return addon;
}
