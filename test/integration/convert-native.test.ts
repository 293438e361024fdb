// The converter with the real native engine (skipped when the addon is not built): calibration in
// the engine's fp32 mode, int8 GGUF on the engine vs the fp32 ONNX on onnxruntime, for the
// frontend "none" and "spectral" forms of a tiny model; and the engine's int8 against the
// TypeScript int8 emulation of the same GGUF (same contract, independent code).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NativeBackend } from '../../agent/inference/native-backend.js';
import { convert } from '../../agent/model/convert.js';
import { loadNativeAddon } from '../../agent/model/native-addon.js';
import {
  nativeEngineFactory,
  referenceEngineFactory,
  type GgufEngineFactory,
} from '../../agent/model/engines.js';
import { compareOutputs } from '../../agent/model/outputs-compare.js';
import type { TstHyperparameters } from '../../agent/model/tst-hyperparameters.js';
import { verifyBundle } from '../../agent/model/verify.js';
import { encodeWindows } from '../../agent/model/window-file.js';
import { buildTinyOnnx, rng, TINY_HP, TINY_SPECTRAL_HP } from '../fixtures/model/tiny-onnx.js';

let native: GgufEngineFactory | undefined;
try {
  native = await nativeEngineFactory();
} catch {
  native = undefined; // addon not built here: the suite is skipped
}

const SPECTRAL_HP = TINY_SPECTRAL_HP;

const dir = mkdtempSync(path.join(tmpdir(), 'vigil-convert-native-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function setup(h: TstHyperparameters, n: number): { onnx: string; calib: string } {
  const sub = path.join(dir, h.name);
  const r = rng(11);
  const C = h.channelCount;
  const windows = Array.from({ length: n }, () => {
    const f = 5 + 40 * r();
    const x = new Float32Array(h.windowLength * C);
    for (let t = 0; t < h.windowLength; t++)
      for (let c = 0; c < C; c++)
        x[t * C + c] = Math.sin((2 * Math.PI * f * t) / h.sampleRateHz + c) + 0.3 * (r() - 0.5);
    return x;
  });
  const enc = encodeWindows(windows, {
    windowLength: h.windowLength,
    channels: C,
    channelNames: h.channelNames,
  });
  mkdirSync(sub, { recursive: true });
  writeFileSync(path.join(sub, 'model.onnx'), buildTinyOnnx(h));
  writeFileSync(path.join(sub, 'calib.f32'), enc.data);
  writeFileSync(path.join(sub, 'calib.json'), enc.descriptor);
  return { onnx: path.join(sub, 'model.onnx'), calib: path.join(sub, 'calib.json') };
}

describe.skipIf(!native)('convert on the native engine', () => {
  for (const h of [TINY_HP, SPECTRAL_HP]) {
    it(`${h.name} (frontend ${h.frontend}): int8 agrees with fp32 ONNX, the engine's fp32 path equals ORT, verify passes on both backends`, async () => {
      const { onnx, calib } = setup(h, 160);
      const out = path.join(dir, h.name, 'bundle');
      const r = await convert({ onnxPath: onnx, calibPath: calib, outDir: out, engine: native! });
      expect(r.accepted, r.reason).toBe(true);
      expect(r.figures.engine).toMatch(/^native /);
      expect(r.figures.fp32EngineVsOnnx.maxProbDiff).toBeLessThan(1e-4);
      expect(r.figures.fp32EngineVsOnnx.embeddingCosineMin).toBeGreaterThan(0.9999);
      expect(r.figures.int8VsFp32Onnx.embeddingCosineMin).toBeGreaterThan(0.99);
      const v = await verifyBundle(out, { requireAll: true });
      expect(v.ok, JSON.stringify(v.checks, null, 1)).toBe(true);

      // Native int8 vs the TypeScript int8 emulation of the same GGUF.
      const gguf = readFileSync(path.join(out, 'model.gguf'));
      const eng = native!.open(gguf);
      const ref = referenceEngineFactory().open(gguf);
      const golden = JSON.parse(readFileSync(path.join(out, 'golden.json'), 'utf8')) as {
        inputs: number[][];
      };
      const xs = golden.inputs.map((x) => Float32Array.from(x));
      const cmp = compareOutputs(
        xs.map((x) => eng.run(x)),
        xs.map((x) => ref.run(x)),
      );
      eng.dispose();
      expect(cmp.top1Agreement).toBe(1);
      expect(cmp.maxProbDiff).toBeLessThan(2e-3);
      expect(cmp.embeddingCosineMin).toBeGreaterThan(0.999);
    });
  }
});

// The shipped bundles' golden vectors on every kernel path this CPU has (scalar, avx2,
// avx512_vnni...): the gguf tolerance must hold across ISAs, as it must on ARM.
describe.skipIf(!native)('shipped bundles verify on every available kernel path', () => {
  for (const name of ['rotating-vib', 'pump-skab']) {
    const dir = path.join('models', name);
    it.skipIf(!existsSync(path.join(dir, 'manifest.json')))(name, async () => {
      const addon = await loadNativeAddon();
      for (const isa of addon.engineInfo().available) {
        const r = await verifyBundle(dir, {
          backends: ['native'],
          requireAll: true,
          open: async (b) =>
            new NativeBackend(new addon.Model(path.join(b.dir, b.manifest.files.gguf!.path), { isa })),
        });
        expect(r.ok, `${isa}: ${JSON.stringify(r.checks.filter((c) => c.status !== 'pass'))}`).toBe(true);
        expect(r.checks.find((c) => c.name === 'golden native')?.detail).toContain(`(${isa})`);
      }
    });
  }
});
