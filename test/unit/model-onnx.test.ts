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
    expect(m.initializers.get('blk.1.ffn_up.weight')?.data).toEqual(
      tinyWeights(TINY_HP).get('blk.1.ffn_up.weight'),
    );
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
      const close = (a: Float32Array, b: Float32Array): number =>
        Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i])));
      expect(close(out.probs.data as Float32Array, want.probs)).toBeLessThan(1e-5);
      expect(close(out.embedding.data as Float32Array, want.embedding)).toBeLessThan(1e-4);
      expect(close(out.patch_error.data as Float32Array, want.patchError)).toBeLessThan(1e-4);
      expect(close(out.channel_error.data as Float32Array, want.channelError)).toBeLessThan(1e-4);
    }
    await session.release();
  });

  describe('refuses graphs that do not match §3, naming the difference', () => {
    const refuse = (bytes: Uint8Array): string => {
      const m = readOnnx(bytes);
      try {
        mapOnnxTensors(m, hyperparametersFromOnnxMetadata(m.metadata));
      } catch (err) {
        expect((err as { code?: string }).code).toBe('MODEL_GRAPH_MISMATCH');
        return (err as Error).message;
      }
      throw new Error('expected a refusal');
    };

    it('a missing tensor', () => {
      expect(refuse(buildTinyOnnx(TINY_HP, { omit: 'blk.1.ffn_down.bias' }))).toMatch(
        /missing tensor blk\.1\.ffn_down\.bias: expected shape \[16\]/,
      );
    });
    it('an extra tensor', () => {
      expect(
        refuse(buildTinyOnnx(TINY_HP, { extra: { name: 'blk.2.ffn_up.weight', shape: [32, 16] } })),
      ).toMatch(
        /extra tensor blk\.2\.ffn_up\.weight \[32, 16\]: not part of this vigil-tst model \(the hyperparameters say 2 blocks\)/,
      );
    });
    it('a shape mismatch', () => {
      expect(
        refuse(buildTinyOnnx(TINY_HP, { reshape: { name: 'blk.0.attn_qkv.weight', shape: [16, 48] } })),
      ).toMatch(/shape mismatch for blk\.0\.attn_qkv\.weight: expected \[48, 16\] but received \[16, 48\]/);
    });
    it('wrong or missing metadata', () => {
      const m1 = readOnnx(buildTinyOnnx(TINY_HP, { metadata: { 'vigil-tst.block_count': null } }));
      expect(() => hyperparametersFromOnnxMetadata(m1.metadata)).toThrow(
        /metadata vigil-tst\.block_count: missing/,
      );
      const m2 = readOnnx(buildTinyOnnx(TINY_HP, { metadata: { 'vigil-tst.attention.head_count': '3' } }));
      expect(() => hyperparametersFromOnnxMetadata(m2.metadata)).toThrow(
        /head_count: expected a divisor of embedding_length 16 but received 3/,
      );
      const m3 = readOnnx(buildTinyOnnx(TINY_HP, { metadata: { 'general.architecture': '"llama"' } }));
      expect(() => hyperparametersFromOnnxMetadata(m3.metadata)).toThrow(
        /general\.architecture: expected "vigil-tst" but received "llama"/,
      );
      const m4 = readOnnx(buildTinyOnnx(TINY_HP, { metadata: { 'vigil-tst.channel_names': '["ax","ay"]' } }));
      expect(() => hyperparametersFromOnnxMetadata(m4.metadata)).toThrow(
        /channel_names: expected 3 names \(channel_count\) but received 2/,
      );
      const m5 = readOnnx(buildTinyOnnx(TINY_HP, { metadata: { 'vigil-tst.patch_length': 'four' } }));
      expect(() => hyperparametersFromOnnxMetadata(m5.metadata)).toThrow(
        /patch_length: expected a JSON-encoded u32 but received "four"/,
      );
    });
    it('metadata that disagrees with the tensors (embedding length)', () => {
      const msg = refuse(
        buildTinyOnnx(TINY_HP, {
          metadata: { 'vigil-tst.embedding_length': '8', 'vigil-tst.attention.head_count': '2' },
        }),
      );
      expect(msg).toMatch(
        /shape mismatch for patch_embd\.weight: expected \[8, 12\] but received \[16, 12\]/,
      );
      expect(msg).toMatch(/output embedding: expected shape \[batch, 8\] but received \[batch, 16\]/);
    });
    it('has_reconstruction false with recon tensors present', () => {
      expect(
        refuse(buildTinyOnnx(TINY_HP, { metadata: { 'vigil-tst.has_reconstruction': 'false' } })),
      ).toMatch(
        /extra tensor recon\.weight \[12, 16\]: not part of this vigil-tst model \(has_reconstruction is false\)/,
      );
    });
  });

  it('maps a one-class model (cls.weight [1, d]) and accepts a leading batch axis on pos_embd', () => {
    const h = { ...TINY_HP, labels: ['normal'] };
    const m = readOnnx(buildTinyOnnx(h, { reshape: { name: 'pos_embd', shape: [1, 4, 16] } }));
    const w = mapOnnxTensors(m, hyperparametersFromOnnxMetadata(m.metadata));
    expect(w.get('cls.weight')).toHaveLength(16);
    expect(w.get('pos_embd')).toHaveLength(64);
  });
});
