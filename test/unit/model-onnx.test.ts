import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { readOnnx } from '../../agent/model/onnx-reader.js';
import { hyperparametersFromOnnxMetadata } from '../../agent/model/tst-hyperparameters.js';
import { mapOnnxTensors } from '../../agent/model/tst-tensors.js';
import { ReferenceModel } from '../../agent/model/reference-forward.js';
import { buildTinyOnnx, rng, TINY_HP, tinyWeights } from '../fixtures/model/tiny-onnx.js';

describe('onnx reader and vigil-tst mapping', () => {
  it('reads initializers, inputs, outputs and metadata of a tiny vigil-tst graph', () => {
    const m = readOnnx(buildTinyOnnx());
    expect(m.inputs.map((i) => [i.name, i.shape])).toEqual([['x', ['batch', 16, 3]]]);
    expect(m.outputs.map((o) => o.name)).toEqual(['probs', 'embedding', 'patch_error', 'channel_error']);
    expect(m.initializers.get('blk.1.ffn_up.weight')?.dims).toEqual([32, 16]);
    expect(m.initializers.get('blk.1.ffn_up.weight')?.data).toEqual(tinyWeights(TINY_HP).get('blk.1.ffn_up.weight'));
    const h = hyperparametersFromOnnxMetadata(m.metadata);
    expect(h).toEqual(TINY_HP);
    expect(mapOnnxTensors(m, h).size).toBe(4 + 1 + 2 * (4 + 4 * 2) + 2 + 4);
  });

  it('the TypeScript reference forward pass matches onnxruntime on the tiny graph', async () => {
    const bytes = buildTinyOnnx();
    const session = await ort.InferenceSession.create(bytes);
    const ref = new ReferenceModel(TINY_HP, tinyWeights(TINY_HP));
    const r = rng(7);
    for (let w = 0; w < 3; w++) {
      const x = Float32Array.from({ length: 48 }, () => r() * 4 - 2);
      const out = await session.run({ x: new ort.Tensor('float32', x, [1, 16, 3]) });
      const want = ref.run(x);
      const close = (a: Float32Array, b: Float32Array): number => Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i])));
      expect(close(out.probs.data as Float32Array, want.probs)).toBeLessThan(1e-5);
      expect(close(out.embedding.data as Float32Array, want.embedding)).toBeLessThan(1e-4);
      expect(close(out.patch_error.data as Float32Array, want.patchError)).toBeLessThan(1e-4);
      expect(close(out.channel_error.data as Float32Array, want.channelError)).toBeLessThan(1e-4);
    }
    await session.release();
  });
});
