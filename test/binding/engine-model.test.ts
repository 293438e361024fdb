// The real addon's Model: argument and input checks at the boundary, info, run/runSync,
// features, calibration, dispose during runs and concurrent runs on one model.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AddonModule } from '../../agent/inference/addon-loader.js';
import { TINY_SPEC, tinyWindow, type TinyGgufSpec } from '../fixtures/engine/tiny-gguf.js';
import { realAddon, rejected, thrown, writeModel } from './addon-helpers.js';

let addon: AddonModule;
let q8Path: string;
let f32Path: string;
const F32_SPEC: TinyGgufSpec = { ...TINY_SPEC, int8: false, seed: 2 };
const SPECTRAL_SPEC: TinyGgufSpec = {
  ...TINY_SPEC,
  windowLength: 64,
  channels: 1,
  sampleRateHz: 64,
  spectral: { bins: 8, bandLowHz: 4, bandHighHz: 20 },
  patch: 2,
  seed: 3,
};

beforeAll(async () => {
  addon = await realAddon();
  q8Path = writeModel('tiny-q8.gguf', TINY_SPEC);
  f32Path = writeModel('tiny-f32.gguf', F32_SPEC);
});

describe('Model construction', () => {
  it('rejects bad sources and options with coded errors', () => {
    expect(thrown(() => new addon.Model(123 as unknown as string)).code).toBe('ENGINE_INVALID_ARGUMENT');
    expect(thrown(() => new addon.Model('')).code).toBe('ENGINE_INVALID_ARGUMENT');
    const io = thrown(() => new addon.Model('/nonexistent/vigil.gguf'));
    expect(io.code).toBe('MODEL_IO');
    expect(io.message).toMatch(/^failed to open model file with \/nonexistent\/vigil\.gguf: /);
    const fmt = thrown(() => new addon.Model(new Uint8Array([0x47, 0x47, 0x55, 0x46, 3, 0])));
    expect(fmt.code).toBe('MODEL_FORMAT');
    expect(fmt.message).toContain('24-byte header');
    expect(thrown(() => new addon.Model(q8Path, { isa: 'mmx' as never })).code).toBe(
      'ENGINE_INVALID_ARGUMENT',
    );
    expect(thrown(() => new addon.Model(q8Path, { threads: 0 })).code).toBe('ENGINE_INVALID_ARGUMENT');
    expect(thrown(() => new addon.Model(q8Path, { threads: 1.5 })).code).toBe('ENGINE_INVALID_ARGUMENT');
    expect(thrown(() => new addon.Model(q8Path, 'fast' as never)).code).toBe('ENGINE_INVALID_ARGUMENT');
    expect(thrown(() => (addon.Model as unknown as (p: string) => unknown)(q8Path))).toBeInstanceOf(Error);
  });

  it('a forced kernel path the CPU lacks is an error, never a fallback', () => {
    const info = addon.engineInfo();
    const missing = (
      ['scalar', 'neon', 'neon_dot', 'sse41', 'avx2', 'avx512_vnni', 'avx_vnni'] as const
    ).find((isa) => !info.available.includes(isa));
    expect(missing).toBeDefined();
    const err = thrown(() => new addon.Model(q8Path, { isa: missing }));
    expect(err.code).toBe('ADDON_ISA_UNAVAILABLE');
    expect(new addon.Model(q8Path, { isa: 'scalar' }).info.isa).toBe('scalar');
  });

  it('reports info from the file', () => {
    const m = new addon.Model(q8Path);
    const i = m.info;
    expect(i.architecture).toBe('vigil-tst');
    expect(i.quantization).toBe('q8_static');
    expect(i.inputShape).toEqual([16, 2]);
    expect(i.labels).toEqual(['class0', 'class1', 'class2']);
    expect(i.channelNames).toEqual(['ch0', 'ch1']);
    expect(i.hyperparameters).toMatchObject({
      tokens: 4,
      embeddingLength: 8,
      featureChannels: 2,
      classCount: 3,
      hasReconstruction: true,
    });
    expect(i.metadata['general.architecture']).toBe('vigil-tst');
    expect(i.metadata['vigil-tst.window_length']).toBe(16);
    expect(addon.engineInfo().available).toContain(i.isa);
    expect(i.memoryBytes).toBeGreaterThan(0);
  });

  it('threads > 1 gives the same outputs as one thread', async () => {
    const x = tinyWindow(TINY_SPEC, 6);
    const one = new addon.Model(q8Path).runSync(x);
    const three = new addon.Model(q8Path, { threads: 3 });
    expect(three.runSync(x).probs).toEqual(one.probs);
    expect((await three.run(x)).embedding).toEqual(one.embedding);
    three.dispose();
  });

  it('loads the same model from bytes and from a path', () => {
    const a = new addon.Model(q8Path);
    const b = new addon.Model(new Uint8Array(readFileSync(q8Path)));
    const x = tinyWindow(TINY_SPEC, 1);
    expect(b.runSync(x).probs).toEqual(a.runSync(x).probs);
  });
});

describe('inputs at the boundary', () => {
  it('rejects wrong types, shapes and non-finite values with stable codes', async () => {
    const m = new addon.Model(q8Path);
    const n = 16 * 2;
    const shape = thrown(() => m.runSync(new Float32Array(n - 1)));
    expect(shape.code).toBe('ENGINE_INPUT_SHAPE');
    expect(shape.message).toContain('expected windowLength * channelCount = 32');
    expect((await rejected(m.run(new Float32Array(n + 1)))).code).toBe('ENGINE_INPUT_SHAPE');
    expect((await rejected(m.run(new Float64Array(n) as never))).code).toBe('ENGINE_INPUT_TYPE');
    expect((await rejected(m.run(Array.from({ length: n }, () => 0) as never))).code).toBe(
      'ENGINE_INPUT_TYPE',
    );
    expect((await rejected(m.run(undefined as never))).code).toBe('ENGINE_INPUT_TYPE');
    expect(thrown(() => m.features(new Float32Array(3))).code).toBe('ENGINE_INPUT_SHAPE');
    for (const bad of [NaN, Infinity, -Infinity]) {
      const x = tinyWindow(TINY_SPEC, 1);
      x[5] = bad;
      const e = await rejected(m.run(x));
      expect(e.code).toBe('ENGINE_INPUT_NONFINITE');
      expect(e.message).toContain('index 5');
      expect(thrown(() => m.runSync(x)).code).toBe('ENGINE_INPUT_NONFINITE');
    }
  });
});

describe('running', () => {
  it('run() and runSync() agree and produce well-formed outputs', async () => {
    const m = new addon.Model(q8Path);
    const x = tinyWindow(TINY_SPEC, 2);
    const s = m.runSync(x);
    const a = await m.run(x);
    expect(a.probs).toEqual(s.probs);
    expect(a.embedding).toEqual(s.embedding);
    expect(a.patchError).toEqual(s.patchError);
    expect(a.channelError).toEqual(s.channelError);
    expect(s.probs).toBeInstanceOf(Float32Array);
    expect(s.probs.reduce((p, v) => p + v, 0)).toBeCloseTo(1, 5);
    expect(s.embedding.length).toBe(8);
    expect(s.patchError.length).toBe(4);
    expect(s.channelError.length).toBe(2);
    expect(a.inferenceUs).toBeGreaterThan(0);
    const other = m.runSync(tinyWindow(TINY_SPEC, 3));
    expect(other.embedding).not.toEqual(s.embedding);
  });

  it('50 concurrent runs on one model give the runSync results', async () => {
    const m = new addon.Model(q8Path);
    const windows = Array.from({ length: 5 }, (_, i) => tinyWindow(TINY_SPEC, 10 + i));
    const expected = windows.map((w) => m.runSync(w));
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => m.run(windows[i % 5])));
    results.forEach((r, i) => {
      expect(r.probs).toEqual(expected[i % 5].probs);
      expect(r.embedding).toEqual(expected[i % 5].embedding);
      expect(r.patchError).toEqual(expected[i % 5].patchError);
    });
  });

  it('dispose() while runs are in flight lets them finish, then refuses new calls', async () => {
    const m = new addon.Model(q8Path);
    const x = tinyWindow(TINY_SPEC, 4);
    const expected = m.runSync(x);
    const pending = Array.from({ length: 20 }, () => m.run(x));
    m.dispose();
    expect(m.disposed).toBe(true);
    const done = await Promise.all(pending);
    for (const r of done) expect(r.probs).toEqual(expected.probs);
    expect((await rejected(m.run(x))).code).toBe('ENGINE_DISPOSED');
    expect(thrown(() => m.runSync(x)).code).toBe('ENGINE_DISPOSED');
    expect(thrown(() => m.features(x)).code).toBe('ENGINE_DISPOSED');
    expect(thrown(() => m.calibration()).code).toBe('ENGINE_DISPOSED');
    m.dispose(); // idempotent
    expect(m.info.name).toBe('tiny-binding');
  });

  it('features() returns the front end output', () => {
    const m = new addon.Model(q8Path);
    const x = tinyWindow(TINY_SPEC, 5);
    expect(m.features(x)).toEqual(x); // frontend none: f = x
    const sp = new addon.Model(writeModel('tiny-spectral.gguf', SPECTRAL_SPEC));
    const f = sp.features(tinyWindow(SPECTRAL_SPEC, 1));
    expect(f.length).toBe(8 * 3);
    // Each feature channel is centered over its bins.
    for (let c = 0; c < 3; c++) {
      let s = 0;
      for (let k = 0; k < 8; k++) s += f[k * 3 + c];
      expect(Math.abs(s)).toBeLessThan(1e-4);
    }
    expect(sp.runSync(tinyWindow(SPECTRAL_SPEC, 1)).channelError.length).toBe(3);
  });

  it('records calibration on fp32 models only', () => {
    const m = new addon.Model(f32Path);
    expect(m.calibration().windows).toBe(0);
    m.setCalibration(true);
    m.runSync(tinyWindow(F32_SPEC, 1));
    m.runSync(tinyWindow(F32_SPEC, 2));
    const c = m.calibration();
    expect(c.windows).toBe(2);
    expect(Object.keys(c.inputAbsMax)).toEqual(
      expect.arrayContaining([
        'patch_embd',
        'blk.0.attn_qkv',
        'blk.0.attn_output',
        'blk.0.ffn_up',
        'blk.0.ffn_down',
        'cls',
        'recon',
      ]),
    );
    for (const v of Object.values(c.inputAbsMax)) expect(v).toBeGreaterThan(0);
    m.resetCalibration();
    expect(m.calibration().windows).toBe(0);
    expect(thrown(() => m.setCalibration('yes' as never)).code).toBe('ENGINE_INVALID_ARGUMENT');
    const q = new addon.Model(q8Path);
    expect(thrown(() => q.setCalibration(true)).code).toBe('ENGINE_CALIBRATION_UNSUPPORTED');
  });
});
