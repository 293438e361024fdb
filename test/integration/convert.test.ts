// Converter end to end on a tiny vigil-tst ONNX built in the test: calibration and int8 on the
// TypeScript reference engine (no addon needed), fp32 verification on onnxruntime, the bundle's
// files, manifest and digests, and `verify` catching corruption.
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadVerifiedBundle } from '../../agent/model/bundle.js';
import { convert, type ConvertResult } from '../../agent/model/convert.js';
import { referenceEngineFactory } from '../../agent/model/engines.js';
import { GgmlType } from '../../agent/model/gguf.js';
import { compareGolden } from '../../agent/model/golden.js';
import { readOnnx } from '../../agent/model/onnx-reader.js';
import { readTstGguf } from '../../agent/model/tst-gguf.js';
import { linearLayers } from '../../agent/model/tst-tensors.js';
import { argmax } from '../../agent/model/outputs-compare.js';
import { ReferenceModel } from '../../agent/model/reference-forward.js';
import { verifyBundle } from '../../agent/model/verify.js';
import { encodeWindows } from '../../agent/model/window-file.js';
import { buildTinyOnnx, rng, TINY_HP, tinyWeights } from '../fixtures/model/tiny-onnx.js';

let dir: string;
let result: ConvertResult;
const bundle = (): string => path.join(dir, 'bundle');

function windows(n: number, seed: number): Float32Array[] {
  const r = rng(seed);
  // Class-like structure: a sine per channel with a random frequency, plus noise.
  return Array.from({ length: n }, () => {
    const f = 0.2 + r();
    const x = new Float32Array(16 * 3);
    for (let t = 0; t < 16; t++)
      for (let c = 0; c < 3; c++) x[t * 3 + c] = Math.sin(f * t * (c + 1)) + 0.3 * (r() - 0.5);
    return x;
  });
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'vigil-convert-'));
  writeFileSync(path.join(dir, 'model.onnx'), buildTinyOnnx());
  writeFileSync(path.join(dir, 'training.json'), JSON.stringify({ model: 'tiny', seed: 1 }));
  const shape = { windowLength: 16, channels: 3, channelNames: ['ax', 'ay', 'az'] };
  const w = windows(120, 3);
  // Labels: the fp32 model's own top-1 class, so the held-out accuracy has a known fp32 value (1).
  const ref = new ReferenceModel(TINY_HP, tinyWeights(TINY_HP));
  const enc = encodeWindows(
    w,
    shape,
    w.map((x) => TINY_HP.labels[argmax(ref.run(x).probs)]),
  );
  writeFileSync(path.join(dir, 'calib.f32'), enc.data);
  writeFileSync(path.join(dir, 'calib.json'), enc.descriptor);
  result = await convert({
    onnxPath: path.join(dir, 'model.onnx'),
    calibPath: path.join(dir, 'calib.json'),
    outDir: bundle(),
    version: '1.2.3',
    hop: 8,
    engine: referenceEngineFactory(),
    created: '2026-01-01T00:00:00.000Z',
  });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('vigil model convert (tiny vigil-tst ONNX)', () => {
  it('accepts the conversion and reports the int8 vs fp32 figures', () => {
    const f = result.figures;
    expect(result.accepted, result.reason).toBe(true);
    expect(f.calibrationWindows).toBe(90);
    expect(f.heldoutWindows).toBe(30);
    expect(f.int8VsFp32Onnx.top1Agreement).toBeGreaterThanOrEqual(0.995);
    expect(f.int8VsFp32Onnx.maxProbDiff).toBeLessThan(0.05);
    expect(f.int8VsFp32Onnx.embeddingCosineMin).toBeGreaterThan(0.99);
    // The fp32 path of the engine is the ONNX graph itself (mapping check).
    expect(f.fp32EngineVsOnnx.maxProbDiff).toBeLessThan(1e-5);
    expect(f.fp32EngineVsOnnx.embeddingCosineMin).toBeGreaterThan(0.99999);
    expect(f.heldoutAccuracy?.fp32).toBe(1);
    expect(f.heldoutAccuracy?.int8).toBe(f.int8VsFp32Onnx.top1Agreement);
  });

  it('writes an int8 GGUF whose tensors and metadata read back as the contract says', () => {
    const g = readTstGguf(readFileSync(path.join(bundle(), 'model.gguf')));
    expect(g.quantization).toBe('q8_static');
    expect(g.h).toEqual({ ...TINY_HP, version: '1.2.3', layerNormEpsilon: Math.fround(1e-5) });
    const info = new Map(g.file.tensors.map((t) => [t.name, t]));
    expect(info.get('blk.0.attn_qkv.weight')).toMatchObject({ type: GgmlType.I8, ne: [16, 48] });
    expect(info.get('blk.0.attn_qkv.scale')).toMatchObject({ type: GgmlType.F32, ne: [48] });
    expect(info.get('blk.0.attn_qkv.input_scale')).toMatchObject({ type: GgmlType.F32, ne: [1] });
    expect(info.get('cls.weight')).toMatchObject({ type: GgmlType.F32, ne: [16, 3] });
    expect(info.get('recon.weight')).toMatchObject({ type: GgmlType.F32, ne: [16, 12] });
    expect(info.get('pos_embd')).toMatchObject({ type: GgmlType.F32, ne: [16, 4] });
    expect(info.has('cls.scale')).toBe(false);
    // Dequantized weights stay within half a step of the fp32 ONNX weights.
    const w = tinyWeights(TINY_HP).get('blk.1.ffn_up.weight')!;
    const q = g.tensors.get('blk.1.ffn_up.weight') as Int8Array;
    const s = g.tensors.get('blk.1.ffn_up.scale') as Float32Array;
    for (let i = 0; i < w.length; i++)
      expect(Math.abs(q[i] * s[Math.floor(i / 16)] - w[i])).toBeLessThanOrEqual(
        s[Math.floor(i / 16)] / 2 + 1e-7,
      );
    // The input scale is the calibration |max| / 127.
    expect((g.tensors.get('patch_embd.input_scale') as Float32Array)[0]).toBeCloseTo(
      result.figures.inputScales.patch_embd,
      7,
    );
  });

  it('writes a manifest that validates, with the input spec and every file digested', () => {
    const b = loadVerifiedBundle(bundle());
    const m = b.manifest;
    expect(m).toMatchObject({
      name: 'tiny',
      version: '1.2.3',
      task: 'classification',
      labels: ['healthy', 'imbalance', 'misalignment'],
      normalLabel: 'healthy',
      input: {
        sampleRateHz: 100,
        windowLength: 16,
        channels: ['ax', 'ay', 'az'],
        frontend: { kind: 'none' },
        hop: 8,
      },
      created: '2026-01-01T00:00:00.000Z',
    });
    expect(Object.keys(m.files).sort()).toEqual(['gguf', 'golden', 'onnx', 'onnxInt8', 'training']);
    expect((m.metrics as { training: unknown }).training).toEqual({ model: 'tiny', seed: 1 });
  });

  it('verify passes on the fresh bundle (golden on onnxruntime; native when the addon is built)', async () => {
    const r = await verifyBundle(bundle());
    expect(r.ok, JSON.stringify(r.checks, null, 1)).toBe(true);
    expect(r.checks.find((c) => c.name === 'golden onnx')?.status).toBe('pass');
  });

  it('verify fails on a flipped byte in model.gguf and on an edited manifest', async () => {
    const copy = path.join(dir, 'corrupt');
    cpSync(bundle(), copy, { recursive: true });
    const g = readFileSync(path.join(copy, 'model.gguf'));
    g[g.length - 40] ^= 0x01;
    writeFileSync(path.join(copy, 'model.gguf'), g);
    const r1 = await verifyBundle(copy);
    expect(r1.ok).toBe(false);
    expect(r1.checks.find((c) => c.name === 'digest model.gguf')).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/^sha256 [0-9a-f]{64}, manifest says/),
    });

    const copy2 = path.join(dir, 'corrupt2');
    cpSync(bundle(), copy2, { recursive: true });
    const m = JSON.parse(readFileSync(path.join(copy2, 'manifest.json'), 'utf8'));
    m.input.hop = 0;
    m.labels.push('extra');
    writeFileSync(path.join(copy2, 'manifest.json'), JSON.stringify(m));
    const r2 = await verifyBundle(copy2);
    expect(r2.ok).toBe(false);
    expect(r2.checks[0]).toMatchObject({
      name: 'manifest',
      status: 'fail',
      detail: expect.stringMatching(/\/input\/hop: must be >= 1/),
    });

    const copy3 = path.join(dir, 'corrupt3');
    cpSync(bundle(), copy3, { recursive: true });
    const gold = JSON.parse(readFileSync(path.join(copy3, 'golden.json'), 'utf8'));
    gold.expected.onnx[0].probs[0] += 0.01;
    writeFileSync(path.join(copy3, 'golden.json'), JSON.stringify(gold));
    const r3 = await verifyBundle(copy3);
    expect(r3.checks.find((c) => c.name === 'digest golden.json')?.status).toBe('fail');
  });

  it('refuses to write a bundle when int8 agreement is below the threshold', async () => {
    const out = path.join(dir, 'refused');
    const r = await convert({
      onnxPath: path.join(dir, 'model.onnx'),
      calibPath: path.join(dir, 'calib.json'),
      outDir: out,
      engine: referenceEngineFactory(),
      minAgreement: 1.01, // impossible: forces the refusal path
    });
    expect(r.accepted).toBe(false);
    expect(r.reason).toMatch(/top-1 agreement 100\.00% is below 101\.00%/);
    expect(existsSync(out)).toBe(false);
  });

  it('writes an int8 ONNX whose encoder linears run as MatMulInteger and agree with fp32', () => {
    const q = readOnnx(readFileSync(path.join(bundle(), 'model.int8.onnx')));
    expect(q.opTypes).toEqual(expect.arrayContaining(['DynamicQuantizeLinear', 'MatMulInteger']));
    const wq = q.initializers.get('blk.0.ffn_up.weight_q');
    expect(wq).toMatchObject({ dims: [16, 32], dataType: 3 }); // INT8, [in, out]
    expect(q.initializers.has('blk.0.ffn_up.weight')).toBe(false);
    expect(q.initializers.get('cls.weight')?.dims).toEqual([3, 16]); // heads stay fp32
    const f = result.figures.int8OnnxVsFp32Onnx!;
    expect(f.top1Agreement).toBeGreaterThanOrEqual(0.95);
    expect(f.embeddingCosineMin).toBeGreaterThan(0.99);
  });

  it('golden comparison skips heads the model does not have and flags length differences', () => {
    const o = {
      probs: Float32Array.of(0.5, 0.5),
      embedding: Float32Array.of(1),
      patchError: Float32Array.of(0, 0),
      channelError: Float32Array.of(0),
    };
    const want = { probs: [0.5, 0.5], embedding: [1], patchError: [], channelError: [] };
    expect(compareGolden([o], [want], { atol: 1e-6, rtol: 0 }).mismatches).toEqual([]);
    const r = compareGolden([o], [{ ...want, probs: [0.5, 0.5, 0] }], { atol: 1e-6, rtol: 0 });
    expect(r.mismatches).toEqual([{ window: 0, head: 'probs', index: -1, got: 2, want: 3 }]);
    expect(
      compareGolden([o], [{ ...want, embedding: [1.01] }], { atol: 1e-3, rtol: 0 }).mismatches[0],
    ).toMatchObject({ head: 'embedding', got: 1, want: 1.01 });
  });

  it('refuses the reference engine for a model the native engine runs with int8 attention', async () => {
    // 64 tokens (256 samples / patch 4): the addon runs int8 attention there, the TypeScript
    // reference float attention, so its goldens and agreement figures would not describe the
    // bundle. Refused before any window is read; all-F32 encoders (no int8 attention) pass the check.
    const long = path.join(dir, 'model-64-tokens.onnx');
    writeFileSync(long, buildTinyOnnx({ ...TINY_HP, windowLength: 256 }));
    const opts = {
      onnxPath: long,
      calibPath: path.join(dir, 'missing-calib.json'),
      outDir: path.join(dir, 'long'),
      engine: referenceEngineFactory(),
    };
    await expect(convert(opts)).rejects.toMatchObject({
      code: 'MODEL_BACKEND_UNAVAILABLE',
      message: expect.stringMatching(/model of 64 tokens .* int8 attention from 64 tokens/),
    });
    const allF32 = linearLayers(TINY_HP)
      .filter((l) => l.encoder)
      .map((l) => l.name);
    await expect(convert({ ...opts, keepF32: allF32 })).rejects.not.toMatchObject({
      code: 'MODEL_BACKEND_UNAVAILABLE',
    });
  });

  it('keeps the named encoder linears in F32 (mixed precision) and refuses unknown names', async () => {
    const out = path.join(dir, 'mixed');
    const r = await convert({
      onnxPath: path.join(dir, 'model.onnx'),
      calibPath: path.join(dir, 'calib.json'),
      outDir: out,
      engine: referenceEngineFactory(),
      keepF32: ['patch_embd'],
    });
    expect(r.accepted).toBe(true);
    const g = readTstGguf(readFileSync(path.join(out, 'model.gguf')));
    const info = new Map(g.file.tensors.map((t) => [t.name, t]));
    expect(info.get('patch_embd.weight')?.type).toBe(GgmlType.F32);
    expect(info.has('patch_embd.input_scale')).toBe(false);
    expect(info.get('blk.0.ffn_up.weight')?.type).toBe(GgmlType.I8);
    expect(r.figures.keepF32).toEqual(['patch_embd']);
    await expect(
      convert({
        onnxPath: path.join(dir, 'model.onnx'),
        calibPath: path.join(dir, 'calib.json'),
        outDir: out,
        engine: referenceEngineFactory(),
        keepF32: ['cls'],
      }),
    ).rejects.toThrow(
      /--keep-f32: expected encoder linears of this model \(patch_embd, blk\.0\.attn_qkv.*\) but received cls/,
    );
  });
});
