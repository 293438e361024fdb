// ONNX (fp32 vigil-tst) -> model bundle with an int8 GGUF (docs/bundles.md):
//  1. read the ONNX, its hyperparameters (metadata_props) and initializers; refuse a graph
//     that differs from docs/model-format.md §3, naming every difference;
//  2. build the fp32 GGUF in memory and calibrate static activation scales: run the engine's
//     fp32 calibration mode over the calibration windows, input_scale = |max| / 127;
//  3. quantize the encoder linears per output channel and write the int8 GGUF;
//  4. verify on held-out windows, int8 GGUF (engine) vs fp32 ONNX (onnxruntime): refuse to
//     write the bundle when top-1 agreement < minAgreement; figures printed either way;
//  5. golden vectors, an optional int8 ONNX for onnxruntime (onnx-int8.ts), then the manifest
//     with the size and SHA-256 of every file.
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { VERSION } from '../version.js';
import { sha256Hex } from './bundle.js';
import type { GgufEngineFactory, OnnxEngine } from './engines.js';
import { openOnnxEngine } from './engines.js';
import { DEFAULT_TOLERANCE, toGoldenInput, toGoldenOutputs, type Golden } from './golden.js';
import type { BundleFile, Manifest } from './manifest-types.js';
import { ModelError } from './model-error.js';
import { quantizeOnnxDynamic } from './onnx-int8.js';
import { readOnnx } from './onnx-reader.js';
import { argmax, compareOutputs, type AgreementFigures, type HeadOutputs } from './outputs-compare.js';
import { buildTstGguf } from './tst-gguf.js';
import {
  ARCH,
  hyperparametersFromOnnxMetadata,
  tstDims,
  type TstHyperparameters,
} from './tst-hyperparameters.js';
import { linearLayers, mapOnnxTensors } from './tst-tensors.js';
import { readWindows, type WindowSet } from './window-file.js';

export interface ConvertProgress {
  start(phase: string, total: number): void;
  tick(): void;
  stop(): void;
}

export interface ConvertOptions {
  onnxPath: string;
  calibPath: string;
  outDir: string;
  /** Held-out windows for the int8 vs fp32 check; default: every 4th calibration window, kept out of calibration. */
  holdoutPath?: string;
  name?: string;
  version?: string;
  labels?: string[];
  normalLabel?: string;
  task?: 'classification' | 'anomaly';
  hop?: number;
  /** Refuse below this top-1 agreement (default 0.995). */
  minAgreement?: number;
  /** Also refuse below this anomaly-score rank correlation (models with reconstruction). */
  minRankCorrelation?: number;
  goldenCount?: number;
  maxCalibrationWindows?: number;
  engine: GgufEngineFactory;
  /** Encoder linears to keep in F32 (mixed precision; the engine runs each linear as stored). */
  keepF32?: string[];
  /** Also write model.int8.onnx (dynamic-quant MatMulInteger graph for ORT); default true. */
  int8Onnx?: boolean;
  /** Injected for tests; default onnxruntime-node. */
  openOnnx?: (bytes: Uint8Array, h: TstHyperparameters) => Promise<OnnxEngine>;
  progress?: ConvertProgress;
  log?: (line: string) => void;
  /** ISO time for `created` (reproducible builds); default now. */
  created?: string;
}

export interface ConvertFigures {
  calibrationWindows: number;
  heldoutWindows: number;
  holdout: string;
  engine: string;
  int8VsFp32Onnx: AgreementFigures;
  /** The engine's fp32 path on the same windows: a check of the mapping itself. */
  fp32EngineVsOnnx: AgreementFigures;
  inputScales: Record<string, number>;
  /** Encoder linears left in F32. */
  keepF32: string[];
  /** model.int8.onnx on onnxruntime vs the fp32 ONNX (when written). */
  int8OnnxVsFp32Onnx?: AgreementFigures;
  int8OnnxNote?: string;
  /** Accuracy against the held-out windows' labels (classifiers whose window file has labels). */
  heldoutAccuracy?: { int8: number; fp32: number };
  ggufBytes: number;
  fp32GgufBytes: number;
}

export interface ConvertResult {
  accepted: boolean;
  figures: ConvertFigures;
  manifest?: Manifest;
  reason?: string;
}

const noProgress: ConvertProgress = { start: () => undefined, tick: () => undefined, stop: () => undefined };

function splitHoldout(set: WindowSet): { calib: WindowSet; holdout: WindowSet } {
  const pick = (keep: (i: number) => boolean): WindowSet => ({
    ...set,
    windows: set.windows.filter((_, i) => keep(i)),
    labels: set.labels?.filter((_, i) => keep(i)),
  });
  return { calib: pick((i) => i % 4 !== 3), holdout: pick((i) => i % 4 === 3) };
}

/** Other metadata_props (not general.* / vigil-tst.*), JSON-decoded when they are JSON. */
function extraMetadata(meta: Record<string, string>): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(meta)) {
    if (k.startsWith('general.') || k.startsWith(`${ARCH}.`)) continue;
    try {
      out[k] = JSON.parse(v);
    } catch {
      out[k] = v; // not JSON: kept verbatim
    }
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** The training record for the manifest: long arrays (norm statistics, per-epoch history) elided. */
export function summarizeRecord(v: unknown, maxArray = 64): unknown {
  if (Array.isArray(v))
    return v.length > maxArray
      ? `[${v.length} values: see training.json]`
      : v.map((x) => summarizeRecord(x, maxArray));
  if (v && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, summarizeRecord(x, maxArray)]));
  return v;
}

/** Window labels as class indices, when every label names a class (index or label string). */
function classIndices(labels: (string | number)[] | undefined, classes: string[]): number[] | undefined {
  if (!labels || classes.length < 2) return undefined;
  const idx = labels.map((l) => (typeof l === 'number' ? l : classes.indexOf(l)));
  return idx.every((i) => Number.isInteger(i) && i >= 0 && i < classes.length) ? idx : undefined;
}

function fileEntry(dir: string, name: string): BundleFile {
  const bytes = readFileSync(path.join(dir, name));
  return { path: name, sha256: sha256Hex(bytes), bytes: bytes.length };
}

/** The native engine's `'auto'` int8 attention threshold (addon/src/engine/attention_int8.h
 * kInt8AttentionMinTokens; test/binding/engine-attention.test.ts pins the addon to it). */
export const NATIVE_INT8_ATTENTION_MIN_TOKENS = 64;

export async function convert(opts: ConvertOptions): Promise<ConvertResult> {
  const log = opts.log ?? (() => undefined);
  const progress = opts.progress ?? noProgress;
  const onnxBytes = readFileSync(opts.onnxPath);
  const onnx = readOnnx(onnxBytes);
  const h = hyperparametersFromOnnxMetadata(onnx.metadata, { name: opts.name, version: opts.version });
  if (opts.labels) {
    if (opts.labels.length !== h.labels.length) {
      throw new ModelError(
        'MODEL_GRAPH_MISMATCH',
        `--labels: expected ${h.labels.length} labels (the model's classes) but received ${opts.labels.length}`,
      );
    }
    h.labels = opts.labels;
  }
  const weights = mapOnnxTensors(onnx, h);
  log(
    `${opts.onnxPath}: vigil-tst ${h.name} ${h.version}, T=${h.windowLength} C=${h.channelCount} frontend=${h.frontend} P=${h.patchLength} d=${h.embeddingLength} L=${h.blockCount} H=${h.headCount} F=${h.feedForwardLength} K=${h.labels.length}${h.hasReconstruction ? ' +recon' : ''}`,
  );

  // The TypeScript reference engine runs float attention; the native engine runs int8 attention
  // on models of NATIVE_INT8_ATTENTION_MIN_TOKENS tokens or more with an int8 linear: goldens and
  // the int8-vs-fp32 gate measured with the reference would not describe what ships.
  const tokens = tstDims(h).N;
  const allF32 = linearLayers(h)
    .filter((l) => l.encoder)
    .every((l) => (opts.keepF32 ?? []).includes(l.name));
  if (opts.engine.kind === 'reference' && tokens >= NATIVE_INT8_ATTENTION_MIN_TOKENS && !allF32) {
    throw new ModelError(
      'MODEL_BACKEND_UNAVAILABLE',
      `expected the native engine (the vigil addon) to convert a model of ${tokens} tokens but received the TypeScript reference engine: the native engine runs int8 attention from ${NATIVE_INT8_ATTENTION_MIN_TOKENS} tokens, which the reference does not implement; build the addon (npm run build:addon) and convert again`,
    );
  }

  const shape = { windowLength: h.windowLength, channels: h.channelCount, channelNames: h.channelNames };
  let calib = readWindows(opts.calibPath, shape);
  let holdout: WindowSet;
  let holdoutDesc: string;
  if (opts.holdoutPath) {
    holdout = readWindows(opts.holdoutPath, shape);
    holdoutDesc = opts.holdoutPath;
  } else {
    ({ calib, holdout } = splitHoldout(calib));
    holdoutDesc = `every 4th window of ${opts.calibPath} (not used for calibration)`;
  }
  if (opts.maxCalibrationWindows && calib.windows.length > opts.maxCalibrationWindows) {
    // Evenly spaced subset so every class region of the file is represented.
    const n = opts.maxCalibrationWindows;
    const step = calib.windows.length / n;
    calib = { ...calib, windows: Array.from({ length: n }, (_, i) => calib.windows[Math.floor(i * step)]) };
  }
  if (calib.windows.length === 0 || holdout.windows.length === 0) {
    throw new ModelError(
      'MODEL_CALIB_INVALID',
      `expected calibration and held-out windows but received ${calib.windows.length} and ${holdout.windows.length}`,
    );
  }

  // 2. Calibration on the fp32 GGUF.
  const fp32 = buildTstGguf(h, weights);
  const fp32Engine = opts.engine.open(fp32);
  const engineDesc = `${fp32Engine.kind} ${fp32Engine.detail}`;
  let inputAbsMax: Record<string, number>;
  const fp32Outs: HeadOutputs[] = [];
  try {
    fp32Engine.setCalibration(true);
    progress.start('calibrate', calib.windows.length);
    for (const w of calib.windows) {
      fp32Engine.run(w);
      progress.tick();
    }
    progress.stop();
    const stats = fp32Engine.calibration();
    inputAbsMax = stats.inputAbsMax;
    fp32Engine.setCalibration(false);
    for (const w of holdout.windows) fp32Outs.push(fp32Engine.run(w));
  } finally {
    fp32Engine.dispose();
  }
  const missing = linearLayers(h)
    .filter((l) => l.encoder)
    .filter((l) => !(Number.isFinite(inputAbsMax[l.name]) && inputAbsMax[l.name] >= 0));
  if (missing.length > 0) {
    throw new ModelError(
      'MODEL_CALIB_INVALID',
      `calibration gave no finite |max| for ${missing.map((l) => l.name).join(', ')} (engine ${engineDesc})`,
    );
  }
  log(`calibrated ${calib.windows.length} windows with the ${engineDesc} engine`);

  // 3. int8 GGUF.
  const encoderNames = linearLayers(h)
    .filter((l) => l.encoder)
    .map((l) => l.name);
  const keepF32 = opts.keepF32 ?? [];
  const unknownKeep = keepF32.filter((n) => !encoderNames.includes(n));
  if (unknownKeep.length > 0) {
    throw new ModelError(
      'MODEL_GRAPH_MISMATCH',
      `--keep-f32: expected encoder linears of this model (${encoderNames.join(', ')}) but received ${unknownKeep.join(', ')}`,
    );
  }
  const int8 = buildTstGguf(h, weights, { inputAbsMax, keepF32 });
  const inputScales: Record<string, number> = {};
  for (const n of encoderNames.filter((x) => !keepF32.includes(x)))
    inputScales[n] = Math.fround(inputAbsMax[n] / 127);

  // 4. Verify: int8 engine vs fp32 ONNX on held-out windows.
  const ort = await (opts.openOnnx ?? ((b, hh) => openOnnxEngine(b, hh)))(onnxBytes, h);
  const int8Engine = opts.engine.open(int8);
  const int8Outs: HeadOutputs[] = [];
  const onnxOuts: HeadOutputs[] = [];
  try {
    progress.start('verify', holdout.windows.length);
    for (const w of holdout.windows) {
      int8Outs.push(int8Engine.run(w));
      onnxOuts.push(await ort.run(w));
      progress.tick();
    }
    progress.stop();
  } finally {
    int8Engine.dispose();
  }
  const figures: ConvertFigures = {
    calibrationWindows: calib.windows.length,
    heldoutWindows: holdout.windows.length,
    holdout: holdoutDesc,
    engine: engineDesc,
    int8VsFp32Onnx: compareOutputs(int8Outs, onnxOuts),
    fp32EngineVsOnnx: compareOutputs(fp32Outs, onnxOuts),
    inputScales,
    keepF32,
    ggufBytes: int8.length,
    fp32GgufBytes: fp32.length,
  };
  const truth = classIndices(holdout.labels, h.labels);
  if (truth) {
    const acc = (outs: HeadOutputs[]): number =>
      outs.filter((o, i) => argmax(o.probs) === truth[i]).length / outs.length;
    figures.heldoutAccuracy = { int8: acc(int8Outs), fp32: acc(onnxOuts) };
  }
  const minAgreement = opts.minAgreement ?? 0.995;
  const f = figures.int8VsFp32Onnx;
  let reason: string | undefined;
  if (f.top1Agreement < minAgreement) {
    reason = `int8 vs fp32 top-1 agreement ${(100 * f.top1Agreement).toFixed(2)}% is below ${(100 * minAgreement).toFixed(2)}%`;
  } else if (
    opts.minRankCorrelation !== undefined &&
    f.anomalyRankCorrelation !== null &&
    f.anomalyRankCorrelation < opts.minRankCorrelation
  ) {
    reason = `int8 vs fp32 anomaly-score rank correlation ${f.anomalyRankCorrelation.toFixed(4)} is below ${opts.minRankCorrelation}`;
  }
  if (reason) {
    await ort.dispose();
    return { accepted: false, figures, reason };
  }

  // 5. Golden vectors and the bundle files.
  const nGolden = Math.min(opts.goldenCount ?? 4, holdout.windows.length);
  const goldenIdx = Array.from({ length: nGolden }, (_, i) =>
    Math.floor((i * holdout.windows.length) / nGolden),
  );
  const golden: Golden = {
    schema: 'vigil.golden/1',
    windowLength: h.windowLength,
    channels: h.channelCount,
    inputs: goldenIdx.map((i) => toGoldenInput(holdout.windows[i])),
    expected: {
      gguf: goldenIdx.map((i) => toGoldenOutputs(int8Outs[i])),
      onnx: goldenIdx.map((i) => toGoldenOutputs(onnxOuts[i])),
    },
    producedBy: { gguf: engineDesc, onnx: 'onnxruntime-node' },
    tolerance: DEFAULT_TOLERANCE,
  };
  await ort.dispose();

  // Optional int8 ONNX for onnxruntime (dynamic quantization), with its own figures.
  let int8OnnxBytes: Uint8Array | undefined;
  if (opts.int8Onnx !== false) {
    try {
      int8OnnxBytes = quantizeOnnxDynamic(
        onnxBytes,
        encoderNames.filter((n) => !keepF32.includes(n)),
      );
      const q = await (opts.openOnnx ?? ((b, hh) => openOnnxEngine(b, hh)))(int8OnnxBytes, h);
      const qOuts: HeadOutputs[] = [];
      try {
        for (const w of holdout.windows) qOuts.push(await q.run(w));
      } finally {
        await q.dispose();
      }
      figures.int8OnnxVsFp32Onnx = compareOutputs(qOuts, onnxOuts);
    } catch (err) {
      int8OnnxBytes = undefined;
      figures.int8OnnxNote = `model.int8.onnx not written: ${(err as Error).message}`;
      log(figures.int8OnnxNote);
    }
  }

  mkdirSync(opts.outDir, { recursive: true });
  const out = (name: string): string => path.join(opts.outDir, name);
  writeFileSync(out('model.gguf'), int8);
  if (path.resolve(opts.onnxPath) !== path.resolve(out('model.onnx')))
    writeFileSync(out('model.onnx'), onnxBytes);
  writeFileSync(out('golden.json'), JSON.stringify(golden) + '\n');
  const files: Manifest['files'] = {
    gguf: fileEntry(opts.outDir, 'model.gguf'),
    onnx: fileEntry(opts.outDir, 'model.onnx'),
    golden: fileEntry(opts.outDir, 'golden.json'),
  };
  if (int8OnnxBytes) {
    writeFileSync(out('model.int8.onnx'), int8OnnxBytes);
    files.onnxInt8 = fileEntry(opts.outDir, 'model.int8.onnx');
  }
  const trainingSrc = path.join(path.dirname(opts.onnxPath), 'training.json');
  let training: unknown;
  if (existsSync(trainingSrc)) {
    if (path.resolve(trainingSrc) !== path.resolve(out('training.json')))
      copyFileSync(trainingSrc, out('training.json'));
    files.training = fileEntry(opts.outDir, 'training.json');
    try {
      training = summarizeRecord(JSON.parse(readFileSync(trainingSrc, 'utf8')));
    } catch {
      training = undefined; // a training record that is not JSON is still shipped, just not summarized
    }
  }
  if (existsSync(out('MODEL_CARD.md'))) files.card = fileEntry(opts.outDir, 'MODEL_CARD.md');
  const normalLabel =
    opts.normalLabel ?? h.labels.find((l) => l === 'healthy' || l === 'normal') ?? h.labels[0];
  if (!h.labels.includes(normalLabel)) {
    throw new ModelError(
      'MODEL_GRAPH_MISMATCH',
      `--normal-label: expected one of ${JSON.stringify(h.labels)} but received ${JSON.stringify(normalLabel)}`,
    );
  }
  const manifest: Manifest = {
    schema: 'vigil.bundle/1',
    name: h.name,
    version: h.version,
    architecture: 'vigil-tst',
    task: opts.task ?? (h.labels.length > 1 ? 'classification' : 'anomaly'),
    labels: h.labels,
    normalLabel,
    input: {
      sampleRateHz: h.sampleRateHz,
      windowLength: h.windowLength,
      channels: h.channelNames,
      frontend:
        h.frontend === 'spectral'
          ? { kind: 'spectral', bins: h.frontendBins, bandLowHz: h.bandLowHz, bandHighHz: h.bandHighHz }
          : { kind: 'none' },
      hop: opts.hop ?? h.windowLength,
    },
    files,
    modelMetadata: extraMetadata(onnx.metadata),
    tools: {
      vigil: VERSION,
      onnxProducer: `${onnx.producerName} ${onnx.producerVersion}`.trim(),
      calibrationEngine: engineDesc,
    },
    metrics: {
      conversion: { ...figures, minAgreement },
      ...(training !== undefined ? { training } : {}),
    },
    created: opts.created ?? new Date().toISOString(),
  };
  if (!manifest.modelMetadata) delete manifest.modelMetadata;
  writeFileSync(out('manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  return { accepted: true, figures, manifest };
}
