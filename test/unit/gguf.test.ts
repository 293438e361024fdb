import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readTstGguf } from '../../agent/model/tst-gguf.js';
import { ggufMetadata } from '../../agent/model/tst-hyperparameters.js';
import { expectedTensors } from '../../agent/model/tst-tensors.js';
import { TINY_HP, tinyWeights } from '../fixtures/model/tiny-onnx.js';
import { GgmlType, gguf, GgufType, ggufTensorData, readGguf, writeGguf } from '../../agent/model/gguf.js';

function sample(): Uint8Array {
  return writeGguf(
    [
      ['general.architecture', gguf.str('vigil-tst')],
      ['vigil-tst.labels', gguf.strs(['healthy', 'imbalance'])],
      ['vigil-tst.window_length', gguf.u32(1024)],
      ['vigil-tst.sample_rate', gguf.f32(8192)],
      ['vigil-tst.has_reconstruction', gguf.bool(true)],
      ['x.u64', { type: GgufType.U64, value: 2n ** 40n }],
    ],
    [
      { name: 'w', type: GgmlType.I8, ne: [3, 2], data: Int8Array.of(1, -2, 3, -127, 127, 0) },
      { name: 'b', type: GgmlType.F32, ne: [5], data: Float32Array.of(0.5, -1, 2, 3, 4) },
    ],
  );
}

describe('GGUF v3', () => {
  it('writes the header, metadata and 32-byte aligned tensors and reads them back', () => {
    const bytes = sample();
    const view = new DataView(bytes.buffer);
    expect(new TextDecoder().decode(bytes.subarray(0, 4))).toBe('GGUF');
    expect(view.getUint32(4, true)).toBe(3);
    expect(view.getBigUint64(8, true)).toBe(2n);
    expect(view.getBigUint64(16, true)).toBe(7n); // 6 keys + general.alignment
    const f = readGguf(bytes);
    expect(f.alignment).toBe(32);
    expect(f.dataOffset % 32).toBe(0);
    expect(f.metadata.get('vigil-tst.labels')).toEqual({
      type: GgufType.ARRAY,
      itemType: GgufType.STRING,
      value: ['healthy', 'imbalance'],
    });
    expect(f.metadata.get('vigil-tst.window_length')?.value).toBe(1024);
    expect(f.metadata.get('vigil-tst.has_reconstruction')?.value).toBe(true);
    expect(f.metadata.get('x.u64')?.value).toBe(2n ** 40n);
    expect(f.tensors.map((t) => [t.name, t.type, t.ne, t.offset])).toEqual([
      ['w', GgmlType.I8, [3, 2], 0],
      ['b', GgmlType.F32, [5], 32],
    ]);
    expect(Array.from(ggufTensorData(f, 'w'))).toEqual([1, -2, 3, -127, 127, 0]);
    expect(Array.from(ggufTensorData(f, 'b'))).toEqual([0.5, -1, 2, 3, 4]);
    expect(bytes.length).toBe(f.dataOffset + 32 + 32);
  });

  it('refuses a bad magic, a wrong version and a truncated file with a clear message', () => {
    const bytes = sample();
    const badMagic = bytes.slice();
    badMagic[0] = 0x58;
    expect(() => readGguf(badMagic)).toThrow(/expected the magic "GGUF"/);
    const v2 = bytes.slice();
    new DataView(v2.buffer).setUint32(4, 2, true);
    expect(() => readGguf(v2)).toThrow(/expected version 3 but received 2/);
    expect(() => readGguf(bytes.slice(0, bytes.length - 13))).toThrow(/tensor b: data .* runs past the end/);
    // Every cut before the end of the last tensor (its 12 trailing padding bytes are optional).
    for (let cut = 0; cut < bytes.length - 12; cut += 7) {
      expect(() => readGguf(bytes.slice(0, cut)), `cut at ${cut}`).toThrow(
        expect.objectContaining({ code: 'MODEL_FORMAT' }),
      );
    }
  });

  it('refuses a misaligned tensor offset and a huge string length', () => {
    const bytes = sample();
    const f = readGguf(bytes);
    expect(f.tensors[1].offset).toBe(32);
    const text = new TextDecoder('latin1').decode(bytes);
    const bPos = text.lastIndexOf('\u0001\u0000\u0000\u0000\u0000\u0000\u0000\u0000b');
    // name "b": u64 len (1) + 'b', n_dims u32, ne u64, type u32, offset u64
    const offsetPos = bPos + 8 + 1 + 4 + 8 + 4;
    const mis = bytes.slice();
    new DataView(mis.buffer).setBigUint64(offsetPos, 33n, true);
    expect(() => readGguf(mis)).toThrow(/offset 33 is not a multiple of the alignment 32/);
    const huge = bytes.slice();
    new DataView(huge.buffer).setBigUint64(24, 2n ** 40n, true); // first key length
    expect(() => readGguf(huge)).toThrow(/more than the limit/);
  });

  it('refuses data that does not match the declared shape when writing', () => {
    expect(() =>
      writeGguf([], [{ name: 'w', type: GgmlType.F32, ne: [2, 2], data: new Float32Array(3) }]),
    ).toThrow(/needs 4 values but received 3/);
    expect(() =>
      writeGguf([], [{ name: 'w', type: GgmlType.I8, ne: [2], data: new Float32Array(2) }]),
    ).toThrow(/does not match type I8/);
  });

  it('never fails with anything but MODEL_FORMAT on mutated or truncated files (fuzz)', () => {
    const base = sample();
    fc.assert(
      fc.property(
        fc.array(fc.record({ at: fc.nat(base.length - 1), value: fc.nat(255) }), {
          minLength: 1,
          maxLength: 8,
        }),
        fc.nat(base.length),
        (edits, cut) => {
          const b = base.slice(0, Math.max(cut, 1));
          for (const e of edits) if (e.at < b.length) b[e.at] = e.value;
          try {
            readGguf(b);
          } catch (err) {
            expect((err as { code?: string }).code).toBe('MODEL_FORMAT');
          }
        },
      ),
      { numRuns: 2000, seed: 42 },
    );
  });

  it('readTstGguf names a tensor whose shape does not match the hyperparameters', () => {
    const w = tinyWeights(TINY_HP);
    // Written by hand: buildTstGguf would refuse the short bias itself.
    const tensors = expectedTensors(TINY_HP).map((spec) => ({
      name: spec.name,
      type: GgmlType.F32,
      ne: spec.name === 'blk.1.ffn_down.bias' ? [15] : [...spec.shape].reverse(),
      data: spec.name === 'blk.1.ffn_down.bias' ? new Float32Array(15) : w.get(spec.name)!,
    }));
    const bytes = writeGguf(ggufMetadata(TINY_HP, 'f32'), tensors);
    expect(() => readTstGguf(bytes)).toThrow(
      /tensor blk\.1\.ffn_down\.bias: expected ne \[16\] but received \[15\]/,
    );
  });
});
