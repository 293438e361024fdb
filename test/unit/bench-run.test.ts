// `vigil bench` end to end on the tiny model with a handful of runs: the report's structure and
// arithmetic (ratios are the quotients of the medians it reports), never its timings. Needs the
// built addon (skipped without it); the flag checks need nothing.
import '../helpers/quiet-logs.js';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { runBreakdown } from '../../agent/bench/breakdown.js';
import { formatReport } from '../../agent/bench/format-report.js';
import { buildNativeInt8 } from '../../agent/bench/native-int8.js';
import { quantizeDynamicOnnx } from '../../agent/bench/dynamic-quant.js';
import { randomWindows } from '../../agent/bench/seeded-rng.js';
import { buildSyntheticOnnx } from '../../agent/bench/synthetic-onnx.js';
import type { TstHyperparameters } from '../../agent/model/tst-hyperparameters.js';
import { GEMM_HOWTO, runBench, runGemmBench, type BenchReport } from '../../agent/bench/run-bench.js';
import { register } from '../../agent/cli/commands/bench.js';
import { UsageError } from '../../agent/cli/fail.js';
import { defaultAddonPath, loadAddon } from '../../agent/inference/addon-loader.js';
import { tempDir } from '../helpers/temp-dir.js';

function cli(...args: string[]): Promise<unknown> {
  const program = new Command('vigil').exitOverride();
  program.configureOutput({ writeErr: () => {}, writeOut: () => {} });
  register(program);
  return program.parseAsync(['node', 'vigil', 'bench', ...args]);
}

describe('vigil bench flags', () => {
  it.each([
    [['--runs', '0'], /positive integer for --runs but received "0"/],
    [['--runs', '2.5'], /positive integer for --runs/],
    [['--sizes', 'tiny,huge'], /among tiny, mid, large but received "huge"/],
    [['--threads', '0'], /integer in \[1, 64\] for --threads but received "0"/],
    [['--breakdown', 'huge'], /--breakdown among tiny, mid, large but received "huge"/],
  ])('%j is a usage error', async (args, message) => {
    const p = cli(...args);
    await expect(p).rejects.toBeInstanceOf(UsageError);
    await expect(p).rejects.toThrow(message);
  });
});

const addonPath = defaultAddonPath();

describe.skipIf(!existsSync(addonPath))('runBench (tiny, 4 runs)', () => {
  let report: BenchReport;

  it('measures every contender and derives ratios from the medians', async () => {
    const addon = await loadAddon({ addonPath });
    report = await runBench(
      { addon, ort },
      { sizes: ['tiny'], runs: 4, threads: 2, memory: false, bundles: false, gemm: false },
    );
    expect(report.schema).toBe('vigil.bench/1');
    expect(report.machine.isaAvailable).toEqual(addon.engineInfo().available);
    const [s] = report.sizes;
    expect(s.size).toBe('tiny');
    expect(s.hyperparameters).toMatchObject({ L: 2, d: 64, F: 256, N: 64 });
    for (const t of Object.values(s.timings)) {
      expect(t.wall.n).toBe(4);
      expect(t.wall.medianUs).toBeGreaterThan(0);
      expect(t.wall.p90Us).toBeGreaterThanOrEqual(t.wall.medianUs);
    }
    expect(s.ratios.ortInt8OverNative).toBeCloseTo(
      s.timings.ortInt8.wall.medianUs / s.timings.nativeSync.wall.medianUs,
      10,
    );
    expect(s.ratios.ortFp32OverNativeCpu).toBeCloseTo(
      s.timings.ortFp32.cpu.medianUs / s.timings.nativeSync.cpu.medianUs,
      10,
    );
    // The other attention mode's contender: same rounds, ratio from its own medians, and the
    // engine really switched (its outputs differ from the default model's).
    const a = s.otherAttention!;
    expect(a.mode).not.toBe(s.attention);
    expect(a.active).toBe(true);
    expect(a.timing.wall.n).toBe(4);
    expect(a.ortInt8OverCpu).toBeCloseTo(s.timings.ortInt8.cpu.medianUs / a.timing.cpu.medianUs, 10);
    // ...and still agrees with ORT fp32 on the top class for nearly every window.
    expect(a.top1).toBeGreaterThanOrEqual(0.9);
    expect(s.target.ortInt8OverNative).toBe(5);
    expect(s.target.met).toBe(s.ratios.ortInt8OverNative! >= 5);
    expect(s.target.metCpu).toBe(s.ratios.ortInt8OverNativeCpu! >= 5);
    expect(s.target.neverSlowerThanFp32Cpu).toBe(s.ratios.ortFp32OverNativeCpu! >= 1);
    expect(s.isa.map((i) => i.isa)).toEqual(addon.engineInfo().available);
    expect(s.multiThread!.threads).toBe(2);
    expect(s.multiThread!.native.wall.n).toBe(4);
    expect(s.multiThread!.ortInt8OverNative).toBeCloseTo(
      s.multiThread!.ortInt8.wall.medianUs / s.multiThread!.native.wall.medianUs,
      10,
    );
    // The int8 GGUF is the converter's q8_static model, far smaller than the fp32 ONNX.
    expect(s.files.ggufBytes).toBeLessThan(s.files.onnxFp32Bytes / 2);
    expect(s.memory.engineModelBytes).toBeGreaterThan(0);
    expect(s.load.native.wall.n).toBeGreaterThan(1);
    expect(s.target.loadMet).toBe(s.load.native.cpu.medianUs <= 2000);
    // Both int8 paths agree with fp32 on the top class for nearly every window.
    expect(s.agreement.nativeInt8.top1).toBeGreaterThanOrEqual(0.9);
    expect(s.agreement.ortInt8.top1).toBeGreaterThanOrEqual(0.9);
    expect(s.agreement.nativeInt8.probsMaxAbs).toBeLessThan(0.05);
  }, 60_000);

  it('prints the table with the ratios and the target verdict', () => {
    const text = formatReport(report);
    expect(text).toContain('== tiny: 2 layers, d 64, ff 256, 64 tokens');
    expect(text).toMatch(
      /ORT int8 \/ native: \d+\.\d\dx wall, \d+\.\d\dx cpu {2}\(target >= 5x: (met|NOT met) wall, (met|NOT met) cpu\)/,
    );
    expect(text).toContain('native int8 run (async)');
    expect(text).toMatch(/per ISA .*scalar/);
    expect(text).toMatch(/2 threads \(informational\): native .* ORT int8 \/ native \d+\.\d\dx/);
  });
});

// A spectral bundle (the rotating-vib layout at a small size): 256 raw samples x 2 channels,
// 32 bins x 6 feature channels, patches of 4 -> 8 tokens.
const SPECTRAL_HP: TstHyperparameters = {
  name: 'spectral-mini',
  version: '0.0.1',
  windowLength: 256,
  channelCount: 2,
  sampleRateHz: 256,
  channelNames: ['x', 'y'],
  frontend: 'spectral',
  frontendBins: 32,
  bandLowHz: 20,
  bandHighHz: 100,
  patchLength: 4,
  embeddingLength: 32,
  blockCount: 1,
  headCount: 2,
  feedForwardLength: 64,
  layerNormEpsilon: 1e-5,
  labels: ['healthy', 'fault'],
  hasReconstruction: true,
};

describe.skipIf(!existsSync(addonPath))('runBench on a bundle directory', () => {
  it('times the engine on raw windows and ORT on features, with the TS front end apart', async () => {
    const addon = await loadAddon({ addonPath });
    const dir = tempDir('vigil-bench-bundle-');
    const onnx = buildSyntheticOnnx(SPECTRAL_HP, { seed: 2 });
    const raw = randomWindows(4, 256 * 2, 8);
    writeFileSync(path.join(dir, 'model.onnx'), onnx);
    writeFileSync(path.join(dir, 'model.int8.onnx'), quantizeDynamicOnnx(onnx, { perChannel: true }).bytes);
    writeFileSync(path.join(dir, 'model.gguf'), buildNativeInt8(addon, onnx, raw).int8Gguf);
    const input = {
      sampleRateHz: 256,
      windowLength: 256,
      channels: ['x', 'y'],
      frontend: { kind: 'spectral', bins: 32, bandLowHz: 20, bandHighHz: 100 },
      hop: 256,
    };
    writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({ name: 'spectral-mini', input }));
    writeFileSync(path.join(dir, 'golden.json'), JSON.stringify({ inputs: [Array.from(raw[0])] }));
    const missing = path.join(dir, 'absent');

    const r = await runBench(
      { addon, ort },
      { sizes: [], runs: 3, bundleDirs: [dir, missing], isaSweep: false, memory: false, gemm: false },
    );
    expect(r.sizes).toEqual([]);
    const [b, skipped] = r.bundles;
    expect(skipped).toMatchObject({ name: 'absent', present: false });
    expect(b).toMatchObject({
      present: true,
      frontend: 'spectral',
      runs: 3,
    });
    const t = b.timings!;
    expect(t.tsFrontend!.wall.n).toBe(3);
    expect(t.nativeFrontend!.wall.n).toBe(3);
    const fe = t.tsFrontend!.wall.medianUs;
    expect(b.ratios!.ortInt8WithFrontendOverNative).toBeCloseTo(
      (t.ortInt8.wall.medianUs + fe) / t.nativeSync.wall.medianUs,
      10,
    );
    expect(t.ortInt8Bundle!.wall.n).toBe(3);
    expect(b.ratios!.ortInt8BundleOverNative).toBeCloseTo(
      t.ortInt8Bundle!.wall.medianUs / t.nativeSync.wall.medianUs,
      10,
    );
    expect(b.ratios!.ortFp32OverNative).toBeCloseTo(t.ortFp32.wall.medianUs / t.nativeSync.wall.medianUs, 10);
    expect(b.memory!.engineModelBytes).toBeGreaterThan(0);
    const text = formatReport(r);
    expect(text).toContain('== bundle spectral-mini (frontend spectral; 3 runs)');
    expect(text).toContain('TypeScript spectral front end');
    expect(text).toContain("ORT int8 (the bundle's model.int8.onnx)");
    expect(text).toMatch(/== bundle absent: skipped \(no model\.gguf in /);
  }, 60_000);
});

describe.skipIf(!existsSync(addonPath))('runBreakdown', () => {
  it('times variants that each remove one kind of work, with their MACs and elementwise counts', async () => {
    const addon = await loadAddon({ addonPath });
    const b = await runBreakdown(addon, 'tiny', 2);
    expect(b.variants.map((v) => v.name)).toEqual(['base', 'ff/4', '1 block', 'N/2', '1 head']);
    const [base, ff, one, half, head] = b.variants;
    expect(base.hyperparameters).toEqual({ L: 2, d: 64, F: 256, N: 64, H: 4 });
    expect(ff.hyperparameters.F).toBe(64);
    expect(one.hyperparameters.L).toBe(1);
    expect(half.hyperparameters.N).toBe(32);
    expect(head.hyperparameters.H).toBe(1);
    expect(base.geluCount).toBe(64 * 256 * 2);
    expect(base.softmaxCount).toBe(64 * 64 * 4 * 2);
    expect(head.softmaxCount).toBe(base.softmaxCount / 4);
    expect(head.encoderMacs).toBe(base.encoderMacs);
    expect(one.encoderMacs).toBe(base.encoderMacs / 2);
    for (const v of b.variants) expect(v.cpuMedianUs).toBeGreaterThanOrEqual(0);
    expect(formatReport({ ...emptyReport(), breakdown: b })).toContain(
      "== where the engine's time goes: variants of tiny",
    );
  }, 60_000);
});

function emptyReport(): BenchReport {
  const machine = {
    cpu: 'x',
    cores: 1,
    loadAvgStart: [0, 0, 0],
    loadAvgEnd: [0, 0, 0],
    node: 'v20',
    onnxruntime: '1',
    engine: '0',
    isaSelected: 'scalar' as const,
    isaAvailable: ['scalar' as const],
  };
  return { schema: 'vigil.bench/1', created: '', machine, method: '', sizes: [], bundles: [] };
}

describe('GEMM kernel table', () => {
  it('says how to build and run vigil_bench_gemm when it is not built', async () => {
    const root = tempDir('vigil-bench-root-');
    const g = await runGemmBench(root);
    expect(g).toEqual({
      binary: path.join(root, 'build', 'native', 'vigil_bench_gemm'),
      present: false,
      howToRun: GEMM_HOWTO,
    });
    expect(formatReport({ ...emptyReport(), gemm: g })).toContain(
      `not built; to run it: cmake -S addon -B build/native`,
    );
  });

  it('reads the benchmark JSON into the table', async () => {
    const root = tempDir('vigil-bench-root-');
    const bin = path.join(root, 'build', 'native');
    mkdirSync(bin, { recursive: true });
    const json =
      '{"clock_hz":3500000000,"results":[{"isa":"avx2","shape":"64x64x64","gops":80.5,"mac_per_cycle":11.5,"peak_mac_per_cycle":23}]}';
    writeFileSync(path.join(bin, 'vigil_bench_gemm'), `#!/bin/sh\necho '${json}'\n`, { mode: 0o755 });
    const g = await runGemmBench(root);
    expect(g.clockHz).toBe(3.5e9);
    expect(g.results).toEqual([
      { isa: 'avx2', shape: '64x64x64', gops: 80.5, mac_per_cycle: 11.5, peak_mac_per_cycle: 23 },
    ]);
    expect(formatReport({ ...emptyReport(), gemm: g })).toMatch(
      /avx2\s+64x64x64\s+80\.5\s+11\.50\s+23\.0\s+50\.0%/,
    );
  });
});
