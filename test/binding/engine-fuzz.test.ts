// Property tests at the JS boundary (fast-check): any window is answered (outputs, or a coded
// ENGINE_INPUT_* error exactly when it is malformed), and any mutation of a valid model file
// either loads and runs or throws MODEL_FORMAT; the process never crashes. The C++ loader has
// its own libFuzzer target (addon/fuzz).
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AddonModule, Model } from '../../agent/inference/addon-loader.js';
import { buildTinyGguf, TINY_SPEC } from '../fixtures/engine/tiny-gguf.js';
import { realAddon } from './addon-helpers.js';

let addon: AddonModule;
let model: Model;
let valid: Uint8Array;
const N = TINY_SPEC.windowLength * TINY_SPEC.channels;

beforeAll(async () => {
  addon = await realAddon();
  valid = buildTinyGguf(TINY_SPEC);
  model = new addon.Model(valid);
});

describe('boundary properties', () => {
  it('any window: outputs when finite and well-shaped, else the matching code', () => {
    const value = fc.oneof(
      fc.float({ noNaN: false, noDefaultInfinity: false }),
      fc.constantFrom(NaN, Infinity, -Infinity, -0, 3.4e38, -3.4e38, 1e-45),
    );
    fc.assert(
      fc.property(fc.array(value, { minLength: N - 2, maxLength: N + 2 }), (values) => {
        const x = Float32Array.from(values);
        let code: string | undefined;
        let probs: Float32Array | undefined;
        try {
          probs = model.runSync(x).probs;
        } catch (err) {
          code = (err as { code?: string }).code;
        }
        if (x.length !== N) return code === 'ENGINE_INPUT_SHAPE';
        if (!x.every(Number.isFinite)) return code === 'ENGINE_INPUT_NONFINITE';
        return code === undefined && probs !== undefined && probs.length === TINY_SPEC.classes;
      }),
      { numRuns: 500 },
    );
  });

  it('any mutation of a valid file loads and runs, or throws MODEL_FORMAT', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.option(fc.nat(valid.length), { nil: undefined }),
        (edits, cut) => {
          const bytes = valid.slice(0, cut ?? valid.length);
          for (const [pos, v] of edits) if (pos < bytes.length) bytes[pos] = v;
          let m: Model;
          try {
            m = new addon.Model(bytes);
          } catch (err) {
            const code = (err as { code?: string }).code;
            return code === 'MODEL_FORMAT' && /^failed to /.test((err as Error).message);
          }
          const [t, c] = m.info.inputShape;
          const r = m.runSync(new Float32Array(t * c).fill(0.5));
          m.dispose();
          return r.probs.length === m.info.hyperparameters.classCount;
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('non-Float32Array inputs are rejected by type', async () => {
    for (const bad of [
      new Float64Array(N),
      new Int8Array(N),
      new Uint8Array(N * 4),
      Array(N).fill(0),
      'x',
      null,
      {},
    ]) {
      await expect(model.run(bad as never)).rejects.toMatchObject({ code: 'ENGINE_INPUT_TYPE' });
    }
    expect(() => model.runSync(new DataView(new ArrayBuffer(N * 4)) as never)).toThrow(
      expect.objectContaining({ code: 'ENGINE_INPUT_TYPE' }),
    );
  });
});
