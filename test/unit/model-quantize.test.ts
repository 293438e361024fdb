import { describe, expect, it } from 'vitest';
import {
  activationScale,
  quantizeActivation,
  quantizeWeightPerChannel,
  roundHalfAway,
} from '../../agent/model/quantize.js';

describe('int8 quantization (docs/model-format.md §4)', () => {
  it('rounds half away from zero', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49, -0.49, 2.51].map(roundHalfAway)).toEqual([
      1, 2, 3, -1, -2, -3, 0, -0, 3,
    ]);
  });

  it('quantizes each output channel with its own symmetric scale (hand-checked)', () => {
    // Row 0: |max| 1.27 -> scale 0.01; row 1: |max| 2.54 -> scale 0.02; row 2: zeros -> scale 1.
    const w = Float32Array.of(1.27, -0.005, 0.015, -1.27, 2.54, 0.01, -0.03, 0.05, 0, 0, 0, 0);
    const { q, scale } = quantizeWeightPerChannel(w, 3, 4);
    expect(Array.from(scale)).toEqual([Math.fround(0.01), Math.fround(0.02), 1]);
    // 0.015/0.01 = 1.5 -> 2 (half away); -0.005/0.01 = -0.5 -> -1; 0.01/0.02 = 0.5 -> 1; -0.03/0.02 = -1.5 -> -2.
    expect(Array.from(q)).toEqual([127, -1, 2, -127, 127, 1, -2, 3, 0, 0, 0, 0]);
  });

  it('keeps every weight within half a step of q * scale and q in [-127, 127]', () => {
    const w = Float32Array.from({ length: 64 * 32 }, (_, i) => Math.sin(i * 1.7) * (1 + (i % 5)));
    const { q, scale } = quantizeWeightPerChannel(w, 64, 32);
    for (let o = 0; o < 64; o++) {
      for (let i = 0; i < 32; i++) {
        const k = o * 32 + i;
        expect(Math.abs(q[k])).toBeLessThanOrEqual(127);
        expect(Math.abs(q[k] * scale[o] - w[k])).toBeLessThanOrEqual(scale[o] / 2 + 1e-7);
      }
    }
  });

  it('derives static activation scales from |max| and clamps activations', () => {
    expect(activationScale(12.7)).toBe(Math.fround(0.1));
    expect(activationScale(0)).toBe(Math.fround(1 / 127));
    expect(() => activationScale(Number.NaN)).toThrow(/finite/);
    const s = activationScale(12.7);
    expect(quantizeActivation(12.7, s)).toBe(127);
    expect(quantizeActivation(50, s)).toBe(127);
    expect(quantizeActivation(-50, s)).toBe(-127);
    expect(quantizeActivation(0.05, 0.1)).toBe(1);
    expect(quantizeActivation(-0.25, 0.1)).toBe(-3);
  });
});

describe('golden.json number encoding', () => {
  it('writes float32 values with 9 significant digits that read back as the same float32', async () => {
    const { f32Json, toGoldenInput } = await import('../../agent/model/golden.js');
    const x = Float32Array.from({ length: 2000 }, (_, i) => Math.sin(i * 12.9898) * 10 ** ((i % 12) - 6));
    const back = Float32Array.from(JSON.parse(JSON.stringify(toGoldenInput(x))) as number[]);
    expect(Array.from(back)).toEqual(Array.from(x));
    expect(String(f32Json(Math.fround(0.1)))).toBe('0.100000001');
  });
});
