// The engine's int8 attention through the binding: LoadOptions.attention ('auto' by default), its
// validation, the $VIGIL_ATTENTION fallback and info.attention (what actually runs).
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AddonModule } from '../../agent/inference/addon-loader.js';
import { TINY_SPEC, tinyWindow, type TinyGgufSpec } from '../fixtures/engine/tiny-gguf.js';
import { expectSameOutputs } from '../helpers/outputs.js';
import { realAddon, thrown, writeModel } from './addon-helpers.js';

let addon: AddonModule;
// Longer sequence (16 tokens) so attention has something to mix.
const Q8_SPEC: TinyGgufSpec = { ...TINY_SPEC, windowLength: 64, seed: 31 };
const F32_SPEC: TinyGgufSpec = { ...Q8_SPEC, int8: false, seed: 32 };
let q8Path: string;
let f32Path: string;
const envBefore = process.env.VIGIL_ATTENTION;

beforeAll(async () => {
  addon = await realAddon();
  q8Path = writeModel('attention-q8.gguf', Q8_SPEC);
  f32Path = writeModel('attention-f32.gguf', F32_SPEC);
  delete process.env.VIGIL_ATTENTION;
});

afterEach(() => {
  if (envBefore === undefined) delete process.env.VIGIL_ATTENTION;
  else process.env.VIGIL_ATTENTION = envBefore;
});

describe('LoadOptions.attention', () => {
  it('selects the attention arithmetic; info.attention reports what runs', () => {
    delete process.env.VIGIL_ATTENTION;
    expect(new addon.Model(q8Path).info.attention).toBe('f32');
    expect(new addon.Model(q8Path, { attention: 'f32' }).info.attention).toBe('f32');
    expect(new addon.Model(q8Path, { attention: 'int8' }).info.attention).toBe('int8');
    // A model without int8 linears keeps float attention (docs/engine.md "int8 attention").
    expect(new addon.Model(f32Path, { attention: 'int8' }).info.attention).toBe('f32');
  });

  it("defaults to 'auto': int8 attention from 64 tokens on q8 models, float below", () => {
    delete process.env.VIGIL_ATTENTION;
    const tokens = (n: number): TinyGgufSpec => ({
      ...TINY_SPEC,
      windowLength: n * TINY_SPEC.patch,
      seed: 33,
    });
    const long = writeModel('attention-64.gguf', tokens(64));
    const short = writeModel('attention-63.gguf', tokens(63));
    expect(new addon.Model(long).info.attention).toBe('int8');
    expect(new addon.Model(long, { attention: 'auto' }).info.attention).toBe('int8');
    expect(new addon.Model(long, { attention: 'f32' }).info.attention).toBe('f32');
    expect(new addon.Model(short).info.attention).toBe('f32');
    expect(new addon.Model(short, { attention: 'auto' }).info.attention).toBe('f32');
    const longF32 = writeModel('attention-64-f32.gguf', { ...tokens(64), int8: false });
    expect(new addon.Model(longF32).info.attention).toBe('f32');
  });

  it('falls back to $VIGIL_ATTENTION; the option wins over it', () => {
    process.env.VIGIL_ATTENTION = 'int8';
    expect(new addon.Model(q8Path).info.attention).toBe('int8');
    expect(new addon.Model(q8Path, { attention: 'f32' }).info.attention).toBe('f32');
  });

  it('rejects anything but auto / f32 / int8 with ENGINE_INVALID_ARGUMENT naming the field and value', () => {
    const cases: [unknown, string][] = [
      ['fp16', '"fp16"'],
      ['INT8', '"INT8"'],
      ['', '""'],
      [8, 'the number 8'],
      [null, 'null'],
      [true, 'the boolean true'],
    ];
    for (const [value, shown] of cases) {
      const e = thrown(() => new addon.Model(q8Path, { attention: value as never }));
      expect(e.code).toBe('ENGINE_INVALID_ARGUMENT');
      expect(e.message).toBe(
        `failed to load model with options.attention ${shown}: expected one of auto, f32, int8`,
      );
    }
    const e = thrown(() => new addon.Model(q8Path, 'int8' as never));
    expect(e.message).toContain('{ isa?, threads?, attention? }');
  });

  it('int8 attention runs: sync, async and batched agree bit for bit, close to float attention', async () => {
    const i8 = new addon.Model(q8Path, { attention: 'int8' });
    const f = new addon.Model(q8Path, { attention: 'f32' });
    let maxDiff = 0;
    let differs = false;
    for (const k of [1, 2, 3, 4]) {
      const x = tinyWindow(Q8_SPEC, k);
      const s = i8.runSync(x);
      const a = await i8.run(x);
      const [b] = await i8.runBatch([x]);
      expectSameOutputs(a, s);
      expectSameOutputs(b, s);
      expect(s.probs.reduce((p, v) => p + v, 0)).toBeCloseTo(1, 5);
      const r = f.runSync(x);
      s.probs.forEach((p, j) => (maxDiff = Math.max(maxDiff, Math.abs(p - r.probs[j]))));
      differs ||= s.embedding.some((v, j) => v !== r.embedding[j]);
    }
    expect(differs).toBe(true); // a different arithmetic really ran
    expect(maxDiff).toBeLessThan(0.05);
  });
});
