// The probing loader against the real addon and against binaries that fail in the ways a
// device meets: missing, not a shared object, dying on SIGILL, a forced kernel path the CPU
// lacks. Also engineInfo() and `vigil engine info --json`.
import { copyFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  AddonError,
  defaultAddonPath,
  loadAddon,
  probeAddon,
  type AddonModule,
} from '../../agent/inference/addon-loader.js';
import { register } from '../../agent/cli/commands/engine.js';
import { realAddon, thrown } from './addon-helpers.js';
import { tempDir } from '../helpers/temp-dir.js';

let addon: AddonModule;
const dir = tempDir('vigil-loader-');
const savedIsa = process.env.VIGIL_ISA;

beforeAll(async () => {
  addon = await realAddon();
});

afterEach(() => {
  if (savedIsa === undefined) delete process.env.VIGIL_ISA;
  else process.env.VIGIL_ISA = savedIsa;
});

async function loadError(file: string, env: NodeJS.ProcessEnv = process.env): Promise<AddonError> {
  try {
    await loadAddon({ addonPath: file, env });
  } catch (err) {
    expect(err).toBeInstanceOf(AddonError);
    return err as AddonError;
  }
  throw new Error('expected loadAddon to fail');
}

describe('addon loader', () => {
  it('loads the real addon after probing it in a child process', async () => {
    const probe = await probeAddon(defaultAddonPath());
    expect(probe.ok).toBe(true);
    expect(probe.info?.available).toContain(probe.info?.selected);
    expect(typeof addon.Model).toBe('function');
    expect(await loadAddon()).toBe(addon); // cached per path
  });

  it('explains a missing binary with the build command', async () => {
    const e = await loadError(path.join(dir, 'nope.node'));
    expect(e.code).toBe('ADDON_UNAVAILABLE');
    expect(e.message).toContain('npm run build:addon');
    expect(e.message).toContain('apt-get install -y cmake g++');
  });

  it('explains a corrupt binary', async () => {
    const file = path.join(dir, 'garbage.node');
    writeFileSync(file, 'not an ELF file');
    const e = await loadError(file);
    expect(e.code).toBe('ADDON_UNAVAILABLE');
    expect(e.message).toContain('rm -rf build && build it with `npm run build:addon`');
  });

  it('a SIGILL while loading kills only the probe child and reads as an unsupported CPU', async () => {
    // require() of a .js file stands in for a .node whose initializer executes an instruction
    // the CPU lacks: the probe child dies on SIGILL, this process does not.
    const file = path.join(dir, 'sigill.js');
    writeFileSync(file, "process.kill(process.pid, 'SIGILL');\n");
    const e = await loadError(file);
    expect(e.code).toBe('ADDON_UNSUPPORTED_CPU');
    expect(e.message).toContain('SIGILL');
    expect(e.message).toContain('npm run build:addon');
  });

  it('a forced kernel path the CPU lacks is ADDON_UNSUPPORTED_CPU', async () => {
    const missing = (['neon', 'neon_dot', 'avx2', 'avx512_vnni', 'avx_vnni'] as const).find(
      (isa) => !addon.engineInfo().available.includes(isa),
    );
    // A copy: the real path's successful load is cached for the life of the process.
    const copy = path.join(dir, 'copy.node');
    copyFileSync(defaultAddonPath(), copy);
    const e = await loadError(copy, { ...process.env, VIGIL_ISA: missing });
    expect(e.code).toBe('ADDON_UNSUPPORTED_CPU');
    expect(e.message).toContain('VIGIL_ISA');
  });
});

describe('engineInfo', () => {
  it('reports compiled, available and selected paths, honoring VIGIL_ISA', () => {
    delete process.env.VIGIL_ISA;
    const info = addon.engineInfo();
    expect(info.compiled).toContain('scalar');
    for (const a of info.available) expect(info.compiled).toContain(a);
    expect(info.selected).toBe(info.available[0]);
    expect(['x86_64', 'aarch64', 'arm']).toContain(info.arch);
    expect(typeof info.cpuFeatures).toBe('object');
    process.env.VIGIL_ISA = 'scalar';
    expect(addon.engineInfo().selected).toBe('scalar');
    process.env.VIGIL_ISA = 'bogus';
    expect(thrown(() => addon.engineInfo()).code).toBe('ADDON_ISA_UNAVAILABLE');
  });

  it('vigil engine info --json prints the contract fields', async () => {
    delete process.env.VIGIL_ISA;
    const program = new Command('vigil').exitOverride();
    register(program);
    let out = '';
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out += String(chunk);
      return true;
    });
    try {
      await program.parseAsync(['node', 'vigil', 'engine', 'info', '--json']);
    } finally {
      spy.mockRestore();
    }
    const json = JSON.parse(out) as Record<string, unknown>;
    expect(Object.keys(json)).toEqual(
      expect.arrayContaining(['selected', 'compiled', 'available', 'cpuFeatures', 'arch']),
    );
    expect(json.selected).toBe(addon.engineInfo().selected);
  });
});
