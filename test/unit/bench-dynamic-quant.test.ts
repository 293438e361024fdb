// The ORT int8 peer of `vigil bench`: the quantize_dynamic twin must yield a graph ORT accepts,
// with every constant-weight MatMul quantized, and outputs close to the fp32 graph's.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { benchHyperparameters } from '../../agent/bench/bench-models.js';
import { quantizeDynamicOnnx, quantizeMatMulWeight, roundHalfEven } from '../../agent/bench/dynamic-quant.js';
import { randomWindows } from '../../agent/bench/seeded-rng.js';
import { buildSyntheticOnnx } from '../../agent/bench/synthetic-onnx.js';
import { maxAbsDiff } from '../../agent/bench/stats.js';
import { modelProtoType } from '../../agent/model/onnx-proto.js';
import { readOnnx } from '../../agent/model/onnx-reader.js';
import { tstDims } from '../../agent/model/tst-hyperparameters.js';
import { linearLayers } from '../../agent/model/tst-tensors.js';
import { tempDir } from '../helpers/temp-dir.js';

const h = benchHyperparameters('tiny');
const fp32 = buildSyntheticOnnx(h, { seed: 7 });

async function runAll(bytes: Uint8Array, windows: Float32Array[]): Promise<Record<string, Float32Array>[]> {
  const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const { Tf, Cf } = tstDims(h);
  const outs: Record<string, Float32Array>[] = [];
  for (const w of windows) {
    const r = await s.run({ x: new ort.Tensor('float32', w, [1, Tf, Cf]) });
    outs.push(
      Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Float32Array.from(v.data as Float32Array)])),
    );
  }
  await s.release();
  return outs;
}

function opCounts(bytes: Uint8Array): Map<string, number> {
  const type = modelProtoType();
  const m = type.toObject(type.decode(bytes), { arrays: true }) as { graph: { node: { opType: string }[] } };
  const c = new Map<string, number>();
  for (const n of m.graph.node) c.set(n.opType, (c.get(n.opType) ?? 0) + 1);
  return c;
}

describe('roundHalfEven / quantizeMatMulWeight', () => {
  it('rounds ties to even like numpy', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4, -2.6].map(roundHalfEven)).toEqual([
      0, 2, 2, -0, -2, -2, 2, -3,
    ]);
  });

  it('is symmetric per tensor, or per output column', () => {
    // W [K=2][N=2] = [[1, -0.5], [0.25, 0.1]]
    const w = Float32Array.of(1, -0.5, 0.25, 0.1);
    const t = quantizeMatMulWeight(w, 2, 2, false);
    expect(Array.from(t.scale)).toEqual([Math.fround(1 / 127)]);
    expect(Array.from(t.q)).toEqual([127, -64, 32, 13]); // -63.5 -> -64 (even), 31.75 -> 32, 12.7 -> 13
    const c = quantizeMatMulWeight(w, 2, 2, true);
    expect(Array.from(c.scale)).toEqual([Math.fround(1 / 127), Math.fround(0.5 / 127)]);
    expect(Array.from(c.q)).toEqual([127, -127, 32, 25]);
  });

  it('gives a zero column scale 1 and refuses a wrong size', () => {
    expect(Array.from(quantizeMatMulWeight(new Float32Array(4), 2, 2, true).scale)).toEqual([1, 1]);
    expect(() => quantizeMatMulWeight(new Float32Array(3), 2, 2, false)).toThrow(
      /expected 2x2 = 4 values but received 3/,
    );
  });
});

describe('quantizeDynamicOnnx', () => {
  const windows = randomWindows(6, h.windowLength * h.channelCount, 3);

  for (const perChannel of [false, true]) {
    it(`quantizes every constant-weight MatMul (${perChannel ? 'per column' : 'per tensor'}) and stays close to fp32`, async () => {
      const q = quantizeDynamicOnnx(fp32, { perChannel });
      const linears = linearLayers(h).map((l) => `${l.name}.weight`);
      expect(q.quantizedWeights).toEqual(linears);
      expect(q.fp32MatMuls).toBe(2 * h.blockCount); // QK^T and PV per block
      const ops = opCounts(q.bytes);
      expect(ops.get('MatMulInteger')).toBe(linears.length);
      expect(ops.get('MatMul')).toBe(2 * h.blockCount);
      expect(ops.get('DynamicQuantizeLinear')).toBe(linears.length); // each linear reads a distinct activation
      expect(ops.get('Transpose') ?? 0).toBe(opCounts(fp32).get('Transpose')! - linears.length);
      // No fp32 copy of a quantized weight is left behind; the int8 model is ~4x smaller.
      const inits = readOnnx(q.bytes).initializers;
      for (const name of linears) expect(inits.has(name)).toBe(false);
      expect(q.bytes.length).toBeLessThan(fp32.length / 2);

      const ref = await runAll(fp32, windows);
      const got = await runAll(q.bytes, windows);
      for (let i = 0; i < windows.length; i++) {
        expect(maxAbsDiff(got[i].probs, ref[i].probs)).toBeLessThan(0.03);
        expect(maxAbsDiff(got[i].embedding, ref[i].embedding)).toBeLessThan(0.15);
        const pe = maxAbsDiff(got[i].patch_error, ref[i].patch_error);
        expect(pe / Math.max(...ref[i].patch_error)).toBeLessThan(0.05);
      }
    });
  }

  it('is the graph ORT fuses: one DynamicQuantizeMatMul per linear, as quantize_dynamic output gets', async () => {
    const file = path.join(tempDir('vigil-dq-'), 'optimized.onnx');
    const s = await ort.InferenceSession.create(quantizeDynamicOnnx(fp32).bytes, {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      optimizedModelFilePath: file,
      logSeverityLevel: 3,
    });
    await s.release();
    const ops = opCounts(readFileSync(file));
    expect(ops.get('DynamicQuantizeMatMul')).toBe(linearLayers(h).length);
    expect(ops.get('MatMulInteger') ?? 0).toBe(0);
    expect(ops.get('DynamicQuantizeLinear') ?? 0).toBe(0);
  });

  it('leaves a model without constant-weight MatMuls unchanged in behaviour', () => {
    // Quantizing twice: the second pass finds no fp32 constant weight left.
    const once = quantizeDynamicOnnx(fp32).bytes;
    const twice = quantizeDynamicOnnx(once);
    expect(twice.quantizedWeights).toEqual([]);
    expect(opCounts(twice.bytes)).toEqual(opCounts(once));
  });
});
