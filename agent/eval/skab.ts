// `vigil eval skab`: the SKAB outlier protocol run through the agent's own anomaly scoring.
// In every experiment file the first 400 rows are normal operation: they are the on-site baseline
// (BaselineLearner, exactly what the agent learns after commissioning); every later row is scored
// by the window of windowLength rows ending at it (for the first scored rows the window reaches
// back into the baseline rows, so every scored row gets a prediction). Predictions of all scored
// rows of all files form one binary classification: F1, FAR = FP/(FP+TN), MAR = FN/(FN+TP).
// Labels are read only to count the confusion; the scoring path never sees them. The site
// transform's level reference adapts to drift exactly as in the agent (SiteAdapter).
import '../inference/ort-telemetry.js'; // before onnxruntime-node: its telemetry off (ort-telemetry.ts)
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { fail } from '../cli/fail.js';
import { BaselineLearner, type RunHeads } from '../diagnosis/baseline.js';
import { SiteAdapter } from '../diagnosis/baseline-adaptation.js';
import {
  DEFAULT_SCORING,
  DEFAULT_TRANSFORM,
  EwmaSmoother,
  scoreWindow,
  type ScoreHeads,
  type ScoringParams,
  type TransformParams,
} from '../diagnosis/anomaly-score.js';
import { listCsvFiles, parseSkabCsv, selectChannels } from './csv.js';
import { parseBackend } from '../cli/options.js';

export const BASELINE_ROWS = 400;
/** Files shorter than this have too little to score (SKAB's anomaly-free.csv has no labels at all). */
export const MIN_ROWS = 450;

// ---------------------------------------------------------------------------------------------
// Arithmetic (pure)

export interface Confusion {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

export interface DetectionMetrics extends Confusion {
  f1: number;
  precision: number;
  recall: number;
  /** false alarm rate FP / (FP + TN), a fraction */
  far: number;
  /** missed alarm rate FN / (FN + TP), a fraction */
  mar: number;
  rows: number;
}

export function confusionOf(pred: ArrayLike<number>, truth: ArrayLike<number>): Confusion {
  if (pred.length !== truth.length)
    throw new RangeError(`confusionOf: ${pred.length} predictions but ${truth.length} labels`);
  const c = { tp: 0, fp: 0, tn: 0, fn: 0 };
  for (let i = 0; i < pred.length; i++) {
    const p = pred[i] > 0;
    const t = truth[i] > 0;
    if (p && t) c.tp++;
    else if (p) c.fp++;
    else if (t) c.fn++;
    else c.tn++;
  }
  return c;
}

export function addConfusion(a: Confusion, b: Confusion): Confusion {
  return { tp: a.tp + b.tp, fp: a.fp + b.fp, tn: a.tn + b.tn, fn: a.fn + b.fn };
}

/** Ratios are 0 when their denominator is 0 (no positives predicted, no anomalous rows, ...). */
export function detectionMetrics(c: Confusion): DetectionMetrics {
  const ratio = (a: number, b: number) => (b > 0 ? a / b : 0);
  const precision = ratio(c.tp, c.tp + c.fp);
  const recall = ratio(c.tp, c.tp + c.fn);
  return {
    ...c,
    f1: ratio(2 * precision * recall, precision + recall),
    precision,
    recall,
    far: ratio(c.fp, c.fp + c.tn),
    mar: ratio(c.fn, c.fn + c.tp),
    rows: c.tp + c.fp + c.tn + c.fn,
  };
}

// ---------------------------------------------------------------------------------------------
// Protocol

export interface SkabFileInput {
  file: string;
  /** rows x channels (the model's channel order), time-major */
  values: Float64Array;
  rows: number;
  anomaly: Uint8Array;
}

export interface SkabProtocolOptions {
  model: string;
  modelVersion: string;
  channels: string[];
  windowLength: number;
  scoring?: Partial<ScoringParams>;
  transform?: Partial<TransformParams>;
}

export interface SkabFileResult {
  /** Smoothed score of every scored row (alarm above 1). */
  scores: Float64Array;
  pred: Uint8Array;
  truth: Uint8Array;
}

/** Learn the baseline on the file's first 400 rows, then score every later row. */
export async function scoreSkabFile(
  f: SkabFileInput,
  run: RunHeads,
  o: SkabProtocolOptions,
): Promise<SkabFileResult> {
  const c = o.channels.length;
  const t = o.windowLength;
  if (t > BASELINE_ROWS) throw new RangeError(`windowLength ${t} exceeds the ${BASELINE_ROWS} baseline rows`);
  const window = (end: number) => f.values.subarray((end - t + 1) * c, (end + 1) * c);
  const learner = new BaselineLearner({
    model: o.model,
    modelVersion: o.modelVersion,
    channels: o.channels,
    windowLength: t,
    hop: 1,
    windows: BASELINE_ROWS - t + 1,
    scoring: o.scoring,
    transform: o.transform,
  });
  for (let end = t - 1; end < BASELINE_ROWS; end++) learner.addWindow(window(end));
  const baseline = await learner.finish(run);
  const smoother = new EwmaSmoother(baseline.params.ewmaAlpha);
  // The same drift adaptation as the agent (SiteAdapter, in window order, hop 1).
  const adapter = new SiteAdapter(baseline, 1);
  const n = f.rows - BASELINE_ROWS;
  const scores = new Float64Array(n);
  const pred = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const u = adapter.next(window(BASELINE_ROWS + i));
    const s = scoreWindow(baseline, u, await run(u), o.channels);
    scores[i] = smoother.push(s.score);
    pred[i] = scores[i] > 1 ? 1 : 0;
  }
  return { scores, pred, truth: f.anomaly.subarray(BASELINE_ROWS) };
}

export interface SkabReport extends DetectionMetrics {
  files: { file: string; f1: number; far: number; mar: number; rows: number }[];
  skipped: { file: string; reason: string }[];
  model: string;
  backend: string;
  scoring: ScoringParams;
  transform: TransformParams;
}

export async function runSkabProtocol(
  files: SkabFileInput[],
  run: RunHeads,
  o: SkabProtocolOptions & { backend: string; skipped?: { file: string; reason: string }[] },
): Promise<SkabReport> {
  let total: Confusion = { tp: 0, fp: 0, tn: 0, fn: 0 };
  const per: SkabReport['files'] = [];
  for (const f of files) {
    const r = await scoreSkabFile(f, run, o);
    const c = confusionOf(r.pred, r.truth);
    total = addConfusion(total, c);
    const m = detectionMetrics(c);
    per.push({ file: f.file, f1: m.f1, far: m.far, mar: m.mar, rows: m.rows });
  }
  return {
    ...detectionMetrics(total),
    files: per,
    skipped: o.skipped ?? [],
    model: `${o.model}@${o.modelVersion}`,
    backend: o.backend,
    scoring: { ...DEFAULT_SCORING, ...o.scoring },
    transform: { ...DEFAULT_TRANSFORM, ...o.transform },
  };
}

// ---------------------------------------------------------------------------------------------
// Files and model (I/O)

/** Read the SKAB CSVs under dir; files without labels or too short are skipped with a reason. */
export function loadSkabDir(
  dir: string,
  channels: string[],
): { files: SkabFileInput[]; skipped: { file: string; reason: string }[] } {
  const files: SkabFileInput[] = [];
  const skipped: { file: string; reason: string }[] = [];
  for (const p of listCsvFiles(dir)) {
    const rel = path.relative(dir, p);
    const t = parseSkabCsv(readFileSync(p, 'utf8'), rel);
    if (!t.anomaly) skipped.push({ file: rel, reason: 'no anomaly column' });
    else if (t.rows < MIN_ROWS) skipped.push({ file: rel, reason: `${t.rows} rows (< ${MIN_ROWS})` });
    else
      files.push({ file: rel, values: selectChannels(t, channels, rel), rows: t.rows, anomaly: t.anomaly });
  }
  return { files, skipped };
}

export interface ModelHandle {
  model: string;
  modelVersion: string;
  channels: string[];
  windowLength: number;
  scoring?: Partial<ScoringParams>;
  transform?: Partial<TransformParams>;
  backend: string;
  run: RunHeads;
  dispose(): Promise<void>;
}

interface TrainingRecord {
  config?: { name?: string; version?: string; windowLength?: number; channels?: string[] };
  scoring?: Partial<ScoringParams>;
  inputTransform?: Partial<TransformParams>;
}

/**
 * The model behind --bundle: a verified bundle (manifest.json) through the agent's backend layer,
 * else the training output (model.onnx + training.json) straight through onnxruntime-node.
 * The scoring parameters come from training.json when present.
 */
export async function openSkabModel(dir: string, prefer: 'auto' | 'native' | 'onnx'): Promise<ModelHandle> {
  const recPath = path.join(dir, 'training.json');
  const rec: TrainingRecord = existsSync(recPath)
    ? (JSON.parse(readFileSync(recPath, 'utf8')) as TrainingRecord)
    : {};
  const pick = <T extends object>(
    v: Partial<T> | undefined,
    keys: readonly (keyof T)[],
  ): Partial<T> | undefined =>
    v ? (Object.fromEntries(keys.filter((k) => k in v).map((k) => [k, v[k]])) as Partial<T>) : undefined;
  const scoring = pick<ScoringParams>(rec.scoring, Object.keys(DEFAULT_SCORING) as (keyof ScoringParams)[]);
  const transform = pick<TransformParams>(
    rec.inputTransform,
    Object.keys(DEFAULT_TRANSFORM) as (keyof TransformParams)[],
  );
  if (existsSync(path.join(dir, 'manifest.json'))) {
    const { loadVerifiedBundle, openBundleBackend } = await import('../model/bundle.js');
    const b = loadVerifiedBundle(dir);
    const { backend, reason } = await openBundleBackend(b, { prefer });
    const m = b.manifest;
    return {
      model: m.name,
      modelVersion: m.version,
      channels: m.input.channels,
      windowLength: m.input.windowLength,
      scoring,
      transform,
      backend: `${backend.kind} (${backend.detail}; ${reason})`,
      run: async (u) => backend.run(u),
      dispose: () => backend.dispose(),
    };
  }
  const onnxPath = path.join(dir, 'model.onnx');
  if (!existsSync(onnxPath))
    fail(`--bundle: expected a bundle (manifest.json) or a model.onnx in ${dir} but found neither`);
  if (prefer === 'native') fail(`--backend native: ${dir} has no manifest.json/model.gguf, only model.onnx`);
  const cfg = rec.config ?? {};
  if (!cfg.windowLength || !cfg.channels)
    fail(`--bundle: ${recPath} must give config.windowLength and config.channels for a bare model.onnx`);
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(onnxPath, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const t = cfg.windowLength;
  const c = cfg.channels.length;
  return {
    model: cfg.name ?? path.basename(dir),
    modelVersion: cfg.version ?? '0.0.0',
    channels: cfg.channels,
    windowLength: t,
    scoring,
    transform,
    backend: 'onnx (cpu; onnxruntime-node on model.onnx, no bundle)',
    run: async (u) => {
      const out = await session.run({ x: new ort.Tensor('float32', u, [1, t, c]) });
      return {
        embedding: out.embedding.data as Float32Array,
        channelError: out.channel_error.data as Float32Array,
      } satisfies ScoreHeads;
    },
    dispose: () => session.release(),
  };
}

// ---------------------------------------------------------------------------------------------
// Command

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

export function registerEvalSkab(evalGroup: Command): void {
  evalGroup
    .command('skab')
    .description(
      'SKAB outlier protocol (first 400 rows of each file = on-site baseline, the rest scored): F1, FAR, MAR',
    )
    .requiredOption('--data <dir>', 'directory searched recursively for SKAB-format CSV files')
    .option(
      '--bundle <dir>',
      'model bundle, or a training output with model.onnx + training.json',
      'models/pump-skab',
    )
    .option('--backend <kind>', 'auto | native | onnx', parseBackend, 'auto')
    .option('--json', 'print the report as JSON')
    .action(
      async (opts: { data: string; bundle: string; backend: 'auto' | 'native' | 'onnx'; json?: boolean }) => {
        if (!existsSync(opts.data))
          fail(`--data: expected a directory but ${JSON.stringify(opts.data)} does not exist`);
        const m = await openSkabModel(opts.bundle, opts.backend);
        try {
          const { files, skipped } = loadSkabDir(opts.data, m.channels);
          if (files.length === 0)
            fail(
              `--data: no SKAB experiment file (with an anomaly column and >= ${MIN_ROWS} rows) under ${opts.data}`,
            );
          const r = await runSkabProtocol(files, m.run, { ...m, skipped });
          if (opts.json) {
            process.stdout.write(JSON.stringify(r, null, 2) + '\n');
            return;
          }
          const lines = [
            `${r.model} on ${r.backend}: ${r.files.length} files, ${r.rows} scored rows`,
            ...r.skipped.map((s) => `skipped ${s.file}: ${s.reason}`),
            ...r.files.map(
              (f) =>
                `  ${f.file.padEnd(20)} F1 ${f.f1.toFixed(3)}  FAR ${pct(f.far).padStart(6)}  MAR ${pct(f.mar).padStart(6)}  (${f.rows} rows)`,
            ),
            `F1 ${r.f1.toFixed(3)}  FAR ${pct(r.far)}  MAR ${pct(r.mar)}  precision ${r.precision.toFixed(3)}  recall ${r.recall.toFixed(3)}  (tp ${r.tp} fp ${r.fp} tn ${r.tn} fn ${r.fn})`,
          ];
          process.stdout.write(lines.join('\n') + '\n');
        } finally {
          await m.dispose();
        }
      },
    );
}
