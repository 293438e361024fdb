// `vigil bench`: the native int8 engine against onnxruntime-node (fp32 and int8 dynamic quant)
// in one process, interleaved, on the engine brief's three model sizes and on the shipped
// bundles. Every figure goes into one JSON object (BenchReport); format-report.ts prints it.
import '../inference/ort-telemetry.js'; // before onnxruntime-node: its telemetry off (ort-telemetry.ts)
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddonModule, IsaName, Model } from '../inference/addon-loader.js';
import { createSpectralFrontend } from '../inference/frontend.js';
import type { Manifest } from '../model/manifest-types.js';
import { PACKAGE_ROOT } from '../package-root.js';
import { tstDims, type TstHyperparameters } from '../model/tst-hyperparameters.js';
import { benchHyperparameters, encoderMacs, type BenchSize } from './bench-models.js';
import { runBreakdown, type Breakdown } from './breakdown.js';
import { quantizeDynamicOnnx } from './dynamic-quant.js';
import { interleave, type Contender, type Samples } from './interleave.js';
import { buildNativeInt8 } from './native-int8.js';
import type { RssProbeResult } from './rss-probe.js';
import { randomWindows } from './seeded-rng.js';
import { argmax, maxAbsDiff, median, speedup, summarize, type Summary } from './stats.js';
import { buildSyntheticOnnx } from './synthetic-onnx.js';

type Ort = typeof import('onnxruntime-node');
type Session = import('onnxruntime-node').InferenceSession;

/** The brief's targets: native int8 this many times faster than ORT int8. */
export const INT8_TARGET: Record<BenchSize, number> = { tiny: 5, mid: 2.5, large: 1.5 };

/** Model load and engine resident overhead targets of the brief. */
export const LOAD_TARGET_US = 2000;
export const RESIDENT_TARGET_BYTES = 10 * 1024 * 1024;

const DEFAULT_RUNS: Record<BenchSize, number> = { tiny: 300, mid: 100, large: 30 };

export interface BenchOptions {
  sizes: BenchSize[];
  /** Timed runs per contender (default per size: tiny 300, mid 100, large 30). */
  runs?: number;
  /**
   * > 1: also time the engine with its worker pool (LoadOptions.threads) against ORT int8 with
   * as many intra-op threads. Informational: the targets are single-core.
   */
  threads?: number;
  isaSweep?: boolean;
  bundles?: boolean;
  /** Bundle directories to measure (default: models/rotating-vib and models/pump-skab). */
  bundleDirs?: string[];
  memory?: boolean;
  gemm?: boolean;
  /** Also time variants of this size to see where the engine's time goes (breakdown.ts). */
  breakdown?: BenchSize;
  /** Progress lines (stderr in the CLI). */
  log?: (line: string) => void;
}

export interface Timing {
  wall: Summary;
  /** Process CPU time per call (all threads; other processes' load excluded). */
  cpu: Summary;
}

export interface Ratios {
  /** ORT int8 median / native median (wall clock): how many times faster the engine is. */
  ortInt8OverNative: number | null;
  ortFp32OverNative: number | null;
  /** The same from CPU-time medians: steadier on a loaded machine. */
  ortInt8OverNativeCpu: number | null;
  ortFp32OverNativeCpu: number | null;
}

export interface Agreement {
  windows: number;
  /** Top-1 agreement with ORT fp32 and max |probs difference|. */
  nativeInt8: { top1: number; probsMaxAbs: number };
  ortInt8: { top1: number; probsMaxAbs: number };
}

export interface MemoryFigures {
  /** ModelInfo.memoryBytes: packed weights + arena. */
  engineModelBytes: number;
  /** RSS added by creating the model/session and running once (fresh child process each). */
  nativeModelRssBytes?: number;
  ortFp32SessionRssBytes?: number;
  ortInt8SessionRssBytes?: number;
  /** RSS added by loading the runtime itself (addon; onnxruntime-node). */
  nativeLibraryRssBytes?: number;
  ortLibraryRssBytes?: number;
  error?: string;
}

export interface SizeReport {
  size: BenchSize;
  hyperparameters: {
    L: number;
    d: number;
    F: number;
    N: number;
    H: number;
    P: number;
    C: number;
    K: number;
    T: number;
  };
  encoderMacs: number;
  files: { onnxFp32Bytes: number; onnxInt8Bytes: number; ggufBytes: number };
  runs: number;
  warmup: number;
  timings: { nativeSync: Timing; nativeAsync: Timing; ortFp32: Timing; ortInt8: Timing };
  ratios: Ratios;
  /** ORT int8 / native async (what the agent pays through run()). */
  asyncRatioOrtInt8: number | null;
  /** The attention arithmetic the engine's default ('auto': int8 from 64 tokens) ran. */
  attention: 'f32' | 'int8';
  /**
   * The same GGUF loaded with the other attention mode (load option `attention: 'f32'` or
   * `'int8'`; docs/engine.md "int8 attention"), timed in the same interleaved rounds: ORT int8 /
   * it, and its agreement with ORT fp32. `active` is false when its outputs equal the default
   * model's (the option had no effect).
   */
  otherAttention: {
    mode: 'f32' | 'int8';
    active: boolean;
    timing: Timing;
    ortInt8Over: number | null;
    ortInt8OverCpu: number | null;
    top1: number;
    probsMaxAbs: number;
  };
  /** With opts.threads > 1: both sides multi-threaded. */
  multiThread?: { threads: number; native: Timing; ortInt8: Timing; ortInt8OverNative: number | null };
  target: {
    ortInt8OverNative: number;
    /** From the wall-clock ratio. */
    met: boolean | null;
    /** From the CPU-time ratio (the steadier one when other processes load the machine). */
    metCpu: boolean | null;
    neverSlowerThanFp32: boolean | null;
    neverSlowerThanFp32Cpu: boolean | null;
    /** Native load median <= 2 ms (CPU time: the loader is single-threaded, so it is the idle wall time). */
    loadMet: boolean;
    /**
     * Engine resident overhead: RSS the addon and the model add (child probe), or
     * ModelInfo.memoryBytes when RSS was not measured; <= 10 MB.
     */
    residentOverheadBytes: number;
    residentMet: boolean;
  };
  isa: { isa: IsaName; timing: Timing; ortInt8OverIsa: number | null }[];
  /** Model load (new Model(buffer) + dispose) and ORT session creation. */
  load: { native: Timing; ortFp32SessionCreate: Timing; ortInt8SessionCreate: Timing };
  memory: MemoryFigures;
  agreement: Agreement;
}

export interface BundleReport {
  name: string;
  dir: string;
  present: boolean;
  note?: string;
  frontend?: string;
  runs?: number;
  /**
   * ortInt8: model.onnx through the quantize_dynamic twin (the brief's peer); ortInt8Bundle: the
   * bundle's own model.int8.onnx, when it has one.
   */
  timings?: {
    nativeSync: Timing;
    nativeAsync: Timing;
    ortFp32: Timing;
    ortInt8: Timing;
    ortInt8Bundle?: Timing;
    tsFrontend?: Timing;
    /** The engine's own front end alone (Model.features), spectral models. */
    nativeFrontend?: Timing;
  };
  /** The *WithFrontend ratios add the TypeScript front end's median to ORT's (spectral models). */
  ratios?: Ratios & {
    ortInt8WithFrontendOverNative: number | null;
    ortFp32WithFrontendOverNative: number | null;
    ortInt8BundleOverNative: number | null;
  };
  load?: { native: Timing; ggufBytes: number };
  memory?: MemoryFigures;
}

export interface GemmReport {
  binary: string;
  present: boolean;
  howToRun: string;
  clockHz?: number;
  results?: { isa: string; shape: string; gops: number; mac_per_cycle: number; peak_mac_per_cycle: number }[];
  error?: string;
}

export interface BenchReport {
  schema: 'vigil.bench/1';
  created: string;
  machine: {
    cpu: string;
    cores: number;
    loadAvgStart: number[];
    loadAvgEnd: number[];
    node: string;
    onnxruntime: string;
    engine: string;
    isaSelected: IsaName;
    isaAvailable: IsaName[];
  };
  method: string;
  sizes: SizeReport[];
  bundles: BundleReport[];
  gemm?: GemmReport;
  breakdown?: Breakdown;
}

const ORT_OPTIONS = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential' as const,
  graphOptimizationLevel: 'all' as const,
  extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
};

export const METHOD =
  'batch 1, one process; each round calls every contender once, the first contender rotating per round; ' +
  'warm-up rounds discarded; wall clock (hrtime) and process CPU time per call; median and nearest-rank p90 in microseconds; ' +
  'ORT sessions with intraOpNumThreads 1, interOpNumThreads 1, sequential, all graph optimizations, no spinning; ' +
  'native engine single-threaded (default LoadOptions); ratios = ORT median / native median';

const atLeast = (ratio: number | null, want: number): boolean | null =>
  ratio === null ? null : ratio >= want;

function timing(s: Samples): Timing {
  return { wall: summarize(s.wallUs), cpu: summarize(s.cpuUs) };
}

function ratios(native: Timing, ortFp32: Timing, ortInt8: Timing): Ratios {
  return {
    ortInt8OverNative: speedup(ortInt8.wall.medianUs, native.wall.medianUs),
    ortFp32OverNative: speedup(ortFp32.wall.medianUs, native.wall.medianUs),
    ortInt8OverNativeCpu: speedup(ortInt8.cpu.medianUs, native.cpu.medianUs),
    ortFp32OverNativeCpu: speedup(ortFp32.cpu.medianUs, native.cpu.medianUs),
  };
}

/** The attention mode the engine's default did not pick. */
function otherAttentionMode(model: Model): 'f32' | 'int8' {
  return model.info.attention === 'int8' ? 'f32' : 'int8';
}

/** Repeated calls of one thing (a load), wall and CPU time. */
async function timeRepeated(reps: number, fn: () => unknown): Promise<Timing> {
  const samples = await interleave([{ id: 'x', call: fn }], { warmup: 1, runs: reps });
  return timing(samples.get('x')!);
}

function ortRunner(ort: Ort, s: Session, tf: number, cf: number, x: Float32Array): () => Promise<unknown> {
  return () => s.run({ x: new ort.Tensor('float32', x, [1, tf, cf]) });
}

async function ortProbs(
  ort: Ort,
  s: Session,
  tf: number,
  cf: number,
  x: Float32Array,
): Promise<Float32Array> {
  const out = await s.run({ x: new ort.Tensor('float32', x, [1, tf, cf]) });
  return Float32Array.from(out.probs.data as Float32Array);
}

const rssProbeScript = (): string => path.join(path.dirname(fileURLToPath(import.meta.url)), 'rss-probe.js');

function runRssProbe(args: string[]): Promise<RssProbeResult> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [rssProbeScript(), ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`rss probe ${args[0]} failed: ${stderr.trim() || err.message}`));
      else resolve(JSON.parse(stdout) as RssProbeResult);
    });
  });
}

/** RSS of the native model and of ORT sessions, each in a fresh child process. */
async function measureMemory(
  model: Model,
  files: { gguf: Uint8Array; onnxFp32?: Uint8Array; onnxInt8?: Uint8Array },
  tf: number,
  cf: number,
  addonPath: string | undefined,
): Promise<MemoryFigures> {
  const mem: MemoryFigures = { engineModelBytes: model.info.memoryBytes };
  if (!existsSync(rssProbeScript())) {
    mem.error = `${rssProbeScript()} not found (run the compiled CLI: npm run build:ts)`;
    return mem;
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-'));
  try {
    const put = (name: string, b: Uint8Array): string => {
      const f = path.join(dir, name);
      writeFileSync(f, b);
      return f;
    };
    if (addonPath) {
      const r = await runRssProbe([
        'native',
        put('model.gguf', files.gguf),
        String(tf),
        String(cf),
        addonPath,
      ]);
      mem.nativeModelRssBytes = r.modelRssBytes;
      mem.nativeLibraryRssBytes = r.libraryRssBytes;
    }
    if (files.onnxFp32) {
      const r = await runRssProbe(['ort', put('model.onnx', files.onnxFp32), String(tf), String(cf)]);
      mem.ortFp32SessionRssBytes = r.modelRssBytes;
      mem.ortLibraryRssBytes = r.libraryRssBytes;
    }
    if (files.onnxInt8) {
      mem.ortInt8SessionRssBytes = (
        await runRssProbe(['ort', put('model.int8.onnx', files.onnxInt8), String(tf), String(cf)])
      ).modelRssBytes;
    }
  } catch (err) {
    mem.error = (err as Error).message;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return mem;
}

export interface BenchContext {
  addon: AddonModule;
  /** Path of the addon binary (for the RSS child); undefined skips the native RSS probe. */
  addonPath?: string;
  ort: Ort;
}

async function benchSize(ctx: BenchContext, size: BenchSize, opts: BenchOptions): Promise<SizeReport> {
  const log = opts.log ?? (() => undefined);
  const { addon, ort } = ctx;
  const h: TstHyperparameters = benchHyperparameters(size);
  const dims = tstDims(h);
  const rawLen = h.windowLength * h.channelCount;
  const runs = opts.runs ?? DEFAULT_RUNS[size];
  const warmup = Math.max(3, Math.ceil(runs / 10));
  log(`${size}: building models (L=${dims.L} d=${dims.d} F=${dims.F} N=${dims.N})`);
  const onnx = buildSyntheticOnnx(h, { seed: 1 });
  const onnxInt8 = quantizeDynamicOnnx(onnx).bytes;
  const native = buildNativeInt8(addon, onnx, randomWindows(8, rawLen, 101));
  const model = new addon.Model(native.int8Gguf);
  const modelOtherAttn = new addon.Model(native.int8Gguf, { attention: otherAttentionMode(model) });
  const fp32 = await ort.InferenceSession.create(onnx, ORT_OPTIONS);
  const int8 = await ort.InferenceSession.create(onnxInt8, ORT_OPTIONS);
  const threads = opts.threads ?? 1;
  const modelMt = threads > 1 ? new addon.Model(native.int8Gguf, { threads }) : undefined;
  const int8Mt =
    threads > 1
      ? await ort.InferenceSession.create(onnxInt8, { ...ORT_OPTIONS, intraOpNumThreads: threads })
      : undefined;
  const isaModels: { isa: IsaName; model: Model }[] = [];
  try {
    // Agreement on fresh windows (random weights: probabilities sit near uniform, so top-1 is a
    // strict test of both int8 paths).
    const evalWindows = randomWindows(16, rawLen, 202);
    const agree = { native: 0, ort: 0, nativeMax: 0, ortMax: 0, attn: 0, attnMax: 0, attnDiffers: false };
    for (const w of evalWindows) {
      const ref = await ortProbs(ort, fp32, dims.Tf, dims.Cf, w);
      const nat = model.runSync(w).probs;
      const a = modelOtherAttn.runSync(w).probs;
      agree.attn += argmax(a) === argmax(ref) ? 1 : 0;
      agree.attnMax = Math.max(agree.attnMax, maxAbsDiff(a, ref));
      agree.attnDiffers ||= maxAbsDiff(a, nat) > 0;
      const q = await ortProbs(ort, int8, dims.Tf, dims.Cf, w);
      agree.native += argmax(nat) === argmax(ref) ? 1 : 0;
      agree.ort += argmax(q) === argmax(ref) ? 1 : 0;
      agree.nativeMax = Math.max(agree.nativeMax, maxAbsDiff(nat, ref));
      agree.ortMax = Math.max(agree.ortMax, maxAbsDiff(q, ref));
    }

    const x = evalWindows[0];
    log(
      `${size}: timing native sync/async, ORT fp32, ORT int8 (${runs} runs, ${warmup} warm-up, interleaved)`,
    );
    const contenders: Contender[] = [
      { id: 'nativeSync', call: () => model.runSync(x) },
      { id: 'nativeAsync', call: () => model.run(x) },
      { id: 'ortFp32', call: ortRunner(ort, fp32, dims.Tf, dims.Cf, x) },
      { id: 'ortInt8', call: ortRunner(ort, int8, dims.Tf, dims.Cf, x) },
    ];
    contenders.push({ id: 'nativeOtherAttn', call: () => modelOtherAttn.runSync(x) });
    if (modelMt && int8Mt) {
      contenders.push(
        { id: 'nativeMt', call: () => modelMt.runSync(x) },
        { id: 'ortInt8Mt', call: ortRunner(ort, int8Mt, dims.Tf, dims.Cf, x) },
      );
    }
    const s = await interleave(contenders, { warmup, runs });
    const t = {
      nativeSync: timing(s.get('nativeSync')!),
      nativeAsync: timing(s.get('nativeAsync')!),
      ortFp32: timing(s.get('ortFp32')!),
      ortInt8: timing(s.get('ortInt8')!),
    };
    const r = ratios(t.nativeSync, t.ortFp32, t.ortInt8);
    const at = timing(s.get('nativeOtherAttn')!);
    const otherAttention: SizeReport['otherAttention'] = {
      mode: modelOtherAttn.info.attention,
      active: agree.attnDiffers,
      timing: at,
      ortInt8Over: speedup(t.ortInt8.wall.medianUs, at.wall.medianUs),
      ortInt8OverCpu: speedup(t.ortInt8.cpu.medianUs, at.cpu.medianUs),
      top1: agree.attn / evalWindows.length,
      probsMaxAbs: agree.attnMax,
    };
    let multiThread: SizeReport['multiThread'];
    if (modelMt && int8Mt) {
      const nt = timing(s.get('nativeMt')!);
      const ot = timing(s.get('ortInt8Mt')!);
      multiThread = {
        threads,
        native: nt,
        ortInt8: ot,
        ortInt8OverNative: speedup(ot.wall.medianUs, nt.wall.medianUs),
      };
    }

    const isa: SizeReport['isa'] = [];
    if (opts.isaSweep !== false) {
      for (const name of addon.engineInfo().available)
        isaModels.push({ isa: name, model: new addon.Model(native.int8Gguf, { isa: name }) });
      // The scalar path is slow on the large model: fewer runs, the same interleaving.
      const isaRuns = Math.max(5, Math.ceil(runs / (size === 'large' ? 6 : 3)));
      log(`${size}: ISA sweep ${isaModels.map((m) => m.isa).join(', ')} + ORT int8 (${isaRuns} runs)`);
      const sweep = await interleave(
        [
          ...isaModels.map((m) => ({ id: m.isa, call: () => m.model.runSync(x) })),
          { id: 'ortInt8', call: ortRunner(ort, int8, dims.Tf, dims.Cf, x) },
        ],
        { warmup: 2, runs: isaRuns },
      );
      const ortMed = median(sweep.get('ortInt8')!.wallUs);
      for (const m of isaModels) {
        const tm = timing(sweep.get(m.isa)!);
        isa.push({ isa: m.isa, timing: tm, ortInt8OverIsa: speedup(ortMed, tm.wall.medianUs) });
      }
    }

    log(`${size}: load times`);
    const nativeLoad = await timeRepeated(size === 'large' ? 15 : 40, () =>
      new addon.Model(native.int8Gguf).dispose(),
    );
    const ortFp32SessionCreate = await timeRepeated(5, async () =>
      (await ort.InferenceSession.create(onnx, ORT_OPTIONS)).release(),
    );
    const ortInt8SessionCreate = await timeRepeated(5, async () =>
      (await ort.InferenceSession.create(onnxInt8, ORT_OPTIONS)).release(),
    );

    const memory =
      opts.memory === false
        ? { engineModelBytes: model.info.memoryBytes }
        : await measureMemory(
            model,
            { gguf: native.int8Gguf, onnxFp32: onnx, onnxInt8 },
            dims.Tf,
            dims.Cf,
            ctx.addonPath,
          );

    const want = INT8_TARGET[size];
    const resident =
      memory.nativeModelRssBytes !== undefined
        ? memory.nativeModelRssBytes + (memory.nativeLibraryRssBytes ?? 0)
        : memory.engineModelBytes;
    return {
      size,
      hyperparameters: {
        L: dims.L,
        d: dims.d,
        F: dims.F,
        N: dims.N,
        H: dims.H,
        P: dims.P,
        C: dims.C,
        K: dims.K,
        T: dims.T,
      },
      encoderMacs: encoderMacs(h),
      files: {
        onnxFp32Bytes: onnx.length,
        onnxInt8Bytes: onnxInt8.length,
        ggufBytes: native.int8Gguf.length,
      },
      runs,
      warmup,
      timings: t,
      ratios: r,
      attention: model.info.attention,
      otherAttention,
      ...(multiThread ? { multiThread } : {}),
      asyncRatioOrtInt8: speedup(t.ortInt8.wall.medianUs, t.nativeAsync.wall.medianUs),
      target: {
        ortInt8OverNative: want,
        met: atLeast(r.ortInt8OverNative, want),
        metCpu: atLeast(r.ortInt8OverNativeCpu, want),
        neverSlowerThanFp32: atLeast(r.ortFp32OverNative, 1),
        neverSlowerThanFp32Cpu: atLeast(r.ortFp32OverNativeCpu, 1),
        loadMet: nativeLoad.cpu.medianUs <= LOAD_TARGET_US,
        residentOverheadBytes: resident,
        residentMet: resident <= RESIDENT_TARGET_BYTES,
      },
      isa,
      load: { native: nativeLoad, ortFp32SessionCreate, ortInt8SessionCreate },
      memory,
      agreement: {
        windows: evalWindows.length,
        nativeInt8: { top1: agree.native / evalWindows.length, probsMaxAbs: agree.nativeMax },
        ortInt8: { top1: agree.ort / evalWindows.length, probsMaxAbs: agree.ortMax },
      },
    };
  } finally {
    model.dispose();
    modelOtherAttn.dispose();
    modelMt?.dispose();
    for (const m of isaModels) m.model.dispose();
    await fp32.release();
    await int8.release();
    await int8Mt?.release();
  }
}

/** Raw input windows of a bundle: its golden inputs when present, else seeded random ones. */
function bundleWindows(dir: string, rawLen: number): Float32Array[] {
  const golden = path.join(dir, 'golden.json');
  if (existsSync(golden)) {
    const g = JSON.parse(readFileSync(golden, 'utf8')) as { inputs?: number[][] };
    const ins = (g.inputs ?? []).filter((a) => a.length === rawLen).map((a) => Float32Array.from(a));
    if (ins.length > 0) return ins;
  }
  return randomWindows(2, rawLen, 303);
}

export const SHIPPED_BUNDLES = ['rotating-vib', 'pump-skab'].map((n) => path.join(PACKAGE_ROOT, 'models', n));

async function benchBundle(ctx: BenchContext, dir: string, opts: BenchOptions): Promise<BundleReport> {
  const log = opts.log ?? (() => undefined);
  const { addon, ort } = ctx;
  const name = path.basename(dir);
  const files = {
    gguf: path.join(dir, 'model.gguf'),
    onnx: path.join(dir, 'model.onnx'),
    int8: path.join(dir, 'model.int8.onnx'),
  };
  if (!existsSync(files.gguf) || !existsSync(files.onnx)) {
    return {
      name,
      dir,
      present: false,
      note: `no ${existsSync(files.gguf) ? 'model.onnx' : 'model.gguf'} in ${dir}`,
    };
  }
  const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Manifest;
  const title = manifest.name ?? name;
  const inp = manifest.input;
  const c = inp.channels.length;
  const rawLen = inp.windowLength * c;
  const gguf = readFileSync(files.gguf);
  const onnxFp32 = readFileSync(files.onnx);
  const onnxInt8 = quantizeDynamicOnnx(onnxFp32).bytes;
  const onnxInt8Bundle = existsSync(files.int8) ? readFileSync(files.int8) : undefined;
  const fe =
    inp.frontend.kind === 'spectral'
      ? createSpectralFrontend(inp.windowLength, c, inp.sampleRateHz, inp.frontend)
      : null;
  const tf = fe ? fe.bins : inp.windowLength;
  const cf = fe ? 3 * c : c;
  const runs = opts.runs ?? 200;
  const x = bundleWindows(dir, rawLen)[0];
  const feats = fe ? fe.run(x) : x;
  const model = new addon.Model(gguf);
  const fp32 = await ort.InferenceSession.create(onnxFp32, ORT_OPTIONS);
  const int8 = await ort.InferenceSession.create(onnxInt8, ORT_OPTIONS);
  const int8Bundle = onnxInt8Bundle
    ? await ort.InferenceSession.create(onnxInt8Bundle, ORT_OPTIONS)
    : undefined;
  try {
    log(
      `bundle ${name}: timing (${runs} runs, interleaved${fe ? ', TS spectral front end timed on its own' : ''})`,
    );
    const contenders: Contender[] = [
      { id: 'nativeSync', call: () => model.runSync(x) },
      { id: 'nativeAsync', call: () => model.run(x) },
      { id: 'ortFp32', call: ortRunner(ort, fp32, tf, cf, feats) },
      { id: 'ortInt8', call: ortRunner(ort, int8, tf, cf, feats) },
    ];
    if (int8Bundle) contenders.push({ id: 'ortInt8Bundle', call: ortRunner(ort, int8Bundle, tf, cf, feats) });
    if (fe) {
      contenders.push(
        { id: 'tsFrontend', call: () => fe.run(x) },
        { id: 'nativeFrontend', call: () => model.features(x) },
      );
    }
    const s = await interleave(contenders, { warmup: Math.max(3, Math.ceil(runs / 10)), runs });
    const t = {
      nativeSync: timing(s.get('nativeSync')!),
      nativeAsync: timing(s.get('nativeAsync')!),
      ortFp32: timing(s.get('ortFp32')!),
      ortInt8: timing(s.get('ortInt8')!),
      ...(int8Bundle ? { ortInt8Bundle: timing(s.get('ortInt8Bundle')!) } : {}),
      ...(fe
        ? { tsFrontend: timing(s.get('tsFrontend')!), nativeFrontend: timing(s.get('nativeFrontend')!) }
        : {}),
    };
    const feUs = t.tsFrontend?.wall.medianUs ?? 0;
    const nativeLoad = await timeRepeated(40, () => new addon.Model(gguf).dispose());
    const memory =
      opts.memory === false
        ? { engineModelBytes: model.info.memoryBytes }
        : await measureMemory(model, { gguf, onnxFp32, onnxInt8 }, tf, cf, ctx.addonPath);
    return {
      name: title,
      dir,
      present: true,
      frontend: inp.frontend.kind,
      runs,
      timings: t,
      ratios: {
        ...ratios(t.nativeSync, t.ortFp32, t.ortInt8),
        ortInt8WithFrontendOverNative: speedup(t.ortInt8.wall.medianUs + feUs, t.nativeSync.wall.medianUs),
        ortFp32WithFrontendOverNative: speedup(t.ortFp32.wall.medianUs + feUs, t.nativeSync.wall.medianUs),
        ortInt8BundleOverNative: speedup(t.ortInt8Bundle?.wall.medianUs, t.nativeSync.wall.medianUs),
      },
      load: { native: nativeLoad, ggufBytes: gguf.length },
      memory,
    };
  } finally {
    model.dispose();
    await fp32.release();
    await int8.release();
    await int8Bundle?.release();
  }
}

export const GEMM_BENCH = path.join('build', 'native', 'vigil_bench_gemm');
export const GEMM_HOWTO =
  'cmake -S addon -B build/native -DCMAKE_BUILD_TYPE=Release -DVIGIL_BUILD_TESTS=ON && cmake --build build/native -j2 --target vigil_bench_gemm && build/native/vigil_bench_gemm [--quick] [--model] [--epilogue f32|acc|gelu_i8] [--isa NAME] [--json]';

/** The kernel engineer's GEMM benchmark (addon/bench/bench_gemm.cc), when it is built. */
export function runGemmBench(root = PACKAGE_ROOT): Promise<GemmReport> {
  const binary = path.join(root, GEMM_BENCH);
  if (!existsSync(binary)) return Promise.resolve({ binary, present: false, howToRun: GEMM_HOWTO });
  return new Promise((resolve) => {
    execFile(binary, ['--quick', '--json'], { timeout: 300_000 }, (err, stdout, stderr) => {
      if (err) {
        resolve({ binary, present: true, howToRun: GEMM_HOWTO, error: stderr.trim() || err.message });
        return;
      }
      try {
        const j = JSON.parse(stdout) as { clock_hz: number; results: GemmReport['results'] };
        resolve({ binary, present: true, howToRun: GEMM_HOWTO, clockHz: j.clock_hz, results: j.results });
      } catch (e) {
        resolve({
          binary,
          present: true,
          howToRun: GEMM_HOWTO,
          error: `unreadable output: ${(e as Error).message}`,
        });
      }
    });
  });
}

function cpuModel(): string {
  return os.cpus()[0]?.model?.trim() ?? 'unknown';
}

export async function runBench(ctx: BenchContext, opts: BenchOptions): Promise<BenchReport> {
  const info = ctx.addon.engineInfo();
  const ortVersion = (ctx.ort.env as { versions?: { common?: string } }).versions?.common ?? 'unknown';
  const report: BenchReport = {
    schema: 'vigil.bench/1',
    created: new Date().toISOString(),
    machine: {
      cpu: cpuModel(),
      cores: os.cpus().length,
      loadAvgStart: os.loadavg(),
      loadAvgEnd: [],
      node: process.version,
      onnxruntime: ortVersion,
      engine: info.version,
      isaSelected: info.selected,
      isaAvailable: info.available,
    },
    method: METHOD,
    sizes: [],
    bundles: [],
  };
  for (const size of opts.sizes) report.sizes.push(await benchSize(ctx, size, opts));
  if (opts.bundles !== false) {
    for (const dir of opts.bundleDirs ?? SHIPPED_BUNDLES)
      report.bundles.push(await benchBundle(ctx, dir, opts));
  }
  if (opts.breakdown) {
    const runs = opts.runs ?? DEFAULT_RUNS[opts.breakdown];
    opts.log?.(`breakdown: variants of ${opts.breakdown} (${runs} runs, interleaved)`);
    report.breakdown = await runBreakdown(ctx.addon, opts.breakdown, runs);
  }
  if (opts.gemm) {
    opts.log?.('GEMM kernels: build/native/vigil_bench_gemm --quick');
    report.gemm = await runGemmBench();
  }
  report.machine.loadAvgEnd = os.loadavg();
  return report;
}
