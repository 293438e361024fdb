// Which kernel path this suite runs on. Under qemu (scripts/arm/binding-phase.sh) the ARM run
// sets VIGIL_EXPECT_SELECTED (neon on cortex-a72, neon_dot on cortex-a76): the suite must then
// have selected exactly that path, and a model must run on it.
import { describe, expect, it } from 'vitest';
import { TINY_SPEC } from '../fixtures/engine/tiny-gguf.js';
import { realAddon, writeModel } from './addon-helpers.js';

describe('engine path', () => {
  it('selects the expected kernel path and runs a model on it', async () => {
    const addon = await realAddon();
    const info = addon.engineInfo();
    process.stdout.write(
      `binding suite path: ${info.selected} (${info.arch}; available ${info.available.join(', ')})\n`,
    );
    const want = process.env.VIGIL_EXPECT_SELECTED;
    if (want) expect(info.selected).toBe(want);
    expect(info.available).toContain(info.selected);
    const model = new addon.Model(writeModel('path.gguf', { ...TINY_SPEC, int8: true, seed: 3 }));
    try {
      expect(model.info.isa).toBe(info.selected);
      const out = model.runSync(
        new Float32Array(model.info.inputShape[0] * model.info.inputShape[1]).fill(0.25),
      );
      expect(out.probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    } finally {
      model.dispose();
    }
  });
});
