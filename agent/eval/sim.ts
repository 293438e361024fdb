// `vigil eval sim`: accuracy of a fault-classification bundle on freshly simulated windows.
// Windows come from the TypeScript simulator (agent/sim/) with asset seeds and, by default, the
// speed band the training run held out (its training.json `excludeRpm`), so the figures are for
// machines the model never saw. Classes are balanced; every window is its own asset (seed).
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { fail } from '../cli/fail.js';
import { logToStderr } from '../cli/commands/model.js';
import type { Backend } from '../inference/backend.js';
import { loadVerifiedBundle, openBundleBackend, type Bundle } from '../model/bundle.js';
import { argmax } from '../model/outputs-compare.js';
import { createPrng } from '../sim/prng.js';
import { FAULT_KINDS, isFaultKind, type FaultKind } from '../sim/faults.js';
import { RPM_RANGE } from '../sim/asset-profile.js';
import { createVibrationSource, type VibrationAxis } from '../sim/vibration-source.js';
import { parseBackend } from '../cli/options.js';

// ---------------------------------------------------------------------------------------------
// Arithmetic (pure)

/** matrix[t][p]: windows of true class t predicted as p. */
export function confusionMatrix(truth: number[], pred: number[], k: number): number[][] {
  if (truth.length !== pred.length)
    throw new RangeError(`confusionMatrix: ${truth.length} truths but ${pred.length} predictions`);
  const m = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  truth.forEach((t, i) => {
    const p = pred[i];
    if (!(t >= 0 && t < k && p >= 0 && p < k))
      throw new RangeError(`confusionMatrix: class index out of range at ${i}: truth ${t}, prediction ${p}`);
    m[t][p]++;
  });
  return m;
}

export interface ClassMetrics {
  label: string;
  /** windows of this true class */
  support: number;
  /** null when the class was never predicted (precision undefined) */
  precision: number | null;
  /** null when the class has no windows */
  recall: number | null;
  f1: number | null;
}

export function classMetrics(matrix: number[][], labels: string[]): ClassMetrics[] {
  return labels.map((label, c) => {
    const tp = matrix[c][c];
    const support = matrix[c].reduce((a, b) => a + b, 0);
    const predicted = matrix.reduce((a, row) => a + row[c], 0);
    const precision = predicted > 0 ? tp / predicted : null;
    const recall = support > 0 ? tp / support : null;
    const f1 =
      precision !== null && recall !== null && precision + recall > 0
        ? (2 * precision * recall) / (precision + recall)
        : precision === 0 || recall === 0
          ? 0
          : null;
    return { label, support, precision, recall, f1 };
  });
}

export function accuracy(matrix: number[][]): number {
  let right = 0;
  let all = 0;
  matrix.forEach((row, t) =>
    row.forEach((n, p) => {
      all += n;
      if (t === p) right += n;
    }),
  );
  return all > 0 ? right / all : 0;
}

export function formatConfusion(matrix: number[][], labels: string[]): string {
  const w = Math.max(6, ...labels.map((l) => Math.min(l.length, 13))) + 1;
  const short = (l: string): string => (l.length > 13 ? l.slice(0, 13) : l);
  const first = Math.max(w, 12);
  const lines = [`${'true \\ pred'.padEnd(first)}${labels.map((l) => short(l).padStart(w)).join('')}`];
  matrix.forEach((row, t) =>
    lines.push(`${short(labels[t]).padEnd(first)}${row.map((n) => String(n).padStart(w)).join('')}`),
  );
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Simulation and the run

export interface SimRanges {
  rpm: [number, number];
  severity: [number, number];
  /** white sensor noise RMS override range (m/s^2); undefined keeps the simulator's own draw */
  noiseRms?: [number, number];
}

export interface SimWindow {
  label: number;
  seed: number;
  rpm: number;
  severity: number;
  x: Float32Array;
}

interface TrainingSplit {
  seedBase?: number;
  assetsPerClass?: number;
  rpm?: [number, number];
  excludeRpm?: [number, number] | null;
  severity?: [number, number];
}

/** The data splits a training record lists (rotating-vib's training.json `data`), if any. */
export function trainingSplits(manifest: Bundle['manifest']): Record<string, TrainingSplit> {
  const t = (manifest.metrics as { training?: { data?: Record<string, unknown> } } | undefined)?.training
    ?.data;
  const out: Record<string, TrainingSplit> = {};
  if (t && typeof t === 'object') {
    for (const [k, v] of Object.entries(t))
      if (v && typeof v === 'object' && 'seedBase' in v) out[k] = v as TrainingSplit;
  }
  return out;
}

/** Seeds [lo, hi) each split used (gen_sim_data: seedBase + one per asset and class). */
export function usedSeedRanges(splits: Record<string, TrainingSplit>, classes: number): [number, number][] {
  return Object.values(splits)
    .filter((s) => typeof s.seedBase === 'number')
    .map((s) => [s.seedBase!, s.seedBase! + (s.assetsPerClass ?? 0) * classes] as [number, number]);
}

export const WARMUP_SAMPLES = 2048;
const EVAL_BATCH = 8;

/** Balanced windows, class-interleaved, one asset (seed) per window. */
export function simulateWindows(opts: {
  labels: FaultKind[];
  count: number;
  seedBase: number;
  ranges: SimRanges;
  windowLength: number;
  sampleRateHz: number;
  axes: VibrationAxis[];
  onWindow?: () => void;
}): SimWindow[] {
  const pick = createPrng(opts.seedBase).fork('eval-sim');
  const out: SimWindow[] = [];
  for (let i = 0; i < opts.count; i++) {
    const label = i % opts.labels.length;
    const fault = opts.labels[label];
    const seed = opts.seedBase + i;
    const rpm = pick.uniform(opts.ranges.rpm[0], opts.ranges.rpm[1]);
    const severity = fault === 'healthy' ? 0 : pick.uniform(opts.ranges.severity[0], opts.ranges.severity[1]);
    const noiseRms = opts.ranges.noiseRms
      ? pick.uniform(opts.ranges.noiseRms[0], opts.ranges.noiseRms[1])
      : undefined;
    const src = createVibrationSource({
      seed,
      fault,
      severity,
      rpm,
      noiseRms,
      sampleRateHz: opts.sampleRateHz,
      axes: opts.axes,
    });
    src.next(WARMUP_SAMPLES);
    out.push({ label, seed, rpm, severity, x: src.next(opts.windowLength) });
    opts.onWindow?.();
  }
  return out;
}

export interface EvalSimReport {
  bundle: string;
  model: string;
  backend: string;
  windows: number;
  seeds: [number, number];
  ranges: SimRanges;
  /** What the training record says it used, for the reader to compare. */
  training: Record<string, TrainingSplit>;
  accuracy: number;
  classes: ClassMetrics[];
  labels: string[];
  confusion: number[][];
}

export interface EvalSimOptions {
  bundleDir: string;
  seed: number;
  count: number;
  backend?: 'auto' | 'native' | 'onnx';
  rpm?: [number, number];
  severity?: [number, number];
  noiseRms?: [number, number];
  /** Injected for tests. */
  openBackend?: (b: Bundle) => Promise<Backend>;
  /** Called after each window is simulated / inferred (progress display). */
  onProgress?: (phase: 'simulate' | 'infer', done: number, total: number) => void;
}

export async function runEvalSim(o: EvalSimOptions): Promise<EvalSimReport> {
  const b = loadVerifiedBundle(o.bundleDir);
  const m = b.manifest;
  const unknown = m.labels.filter((l) => !isFaultKind(l));
  if (unknown.length > 0) {
    fail(
      `--bundle: eval sim needs a bundle whose labels are simulator fault kinds (${FAULT_KINDS.join(', ')}) but ${m.name} has ${unknown.join(', ')}`,
    );
  }
  if (m.input.channels.length > 2)
    fail(
      `--bundle: the simulator produces 1 (radial) or 2 (radial, axial) channels but ${m.name} takes ${m.input.channels.length}`,
    );
  const splits = trainingSplits(m);
  const band = Object.values(splits).find((s) => s.excludeRpm)?.excludeRpm ?? undefined;
  const ranges: SimRanges = {
    rpm: o.rpm ?? band ?? [RPM_RANGE[0], RPM_RANGE[1]],
    severity: o.severity ?? [0.2, 1],
    noiseRms: o.noiseRms,
  };
  // Seeds: a base derived from --seed far above the generator's bases, and checked against every
  // range the training record lists.
  const seedBase = 50_000_000 + o.seed * 100_000;
  const seeds: [number, number] = [seedBase, seedBase + o.count];
  for (const [lo, hi] of usedSeedRanges(splits, m.labels.length)) {
    if (seeds[0] < hi && lo < seeds[1])
      fail(
        `--seed: seeds ${seeds[0]}..${seeds[1] - 1} overlap the training record's ${lo}..${hi - 1}; pick another --seed`,
      );
  }
  let simulated = 0;
  const windows = simulateWindows({
    labels: m.labels as FaultKind[],
    count: o.count,
    seedBase,
    ranges,
    windowLength: m.input.windowLength,
    sampleRateHz: m.input.sampleRateHz,
    axes: m.input.channels.length === 2 ? ['radial', 'axial'] : ['radial'],
    onWindow: () => o.onProgress?.('simulate', ++simulated, o.count),
  });
  const backend = o.openBackend
    ? await o.openBackend(b)
    : (await openBundleBackend(b, { prefer: o.backend ?? 'auto' })).backend;
  const truth: number[] = [];
  const pred: number[] = [];
  try {
    // Batches of EVAL_BATCH windows where the backend batches (one native work item or one ORT
    // worker round trip each); results equal one-by-one runs (test/binding/engine-batch.test.ts).
    for (let i = 0; i < windows.length; i += EVAL_BATCH) {
      const part = windows.slice(i, i + EVAL_BATCH);
      const outs = backend.runBatch ? await backend.runBatch(part.map((w) => w.x)) : [];
      for (const w of part.slice(outs.length)) outs.push(await backend.run(w.x));
      part.forEach((w, j) => {
        truth.push(w.label);
        pred.push(argmax(outs[j].probs));
      });
      o.onProgress?.('infer', truth.length, windows.length);
    }
  } finally {
    await backend.dispose();
  }
  const confusion = confusionMatrix(truth, pred, m.labels.length);
  return {
    bundle: o.bundleDir,
    model: `${m.name} ${m.version}`,
    backend: `${backend.kind} (${backend.detail})`,
    windows: windows.length,
    seeds,
    ranges,
    training: splits,
    accuracy: accuracy(confusion),
    classes: classMetrics(confusion, m.labels),
    labels: m.labels,
    confusion,
  };
}

// ---------------------------------------------------------------------------------------------
// CLI: added to the `eval` group by agent/cli/commands/eval.ts.

const range =
  (flag: string) =>
  (v: string): [number, number] => {
    const p = v.split(':').map(Number);
    if (p.length !== 2 || p.some((x) => !Number.isFinite(x)) || p[0] >= p[1])
      fail(`${flag}: expected lo:hi with lo < hi but received ${JSON.stringify(v)}`);
    return [p[0], p[1]];
  };

const fmt = (x: number | null): string => (x === null ? '   -  ' : x.toFixed(4));

export function registerEvalSim(evalGroup: Command): void {
  evalGroup
    .command('sim')
    .description(
      'accuracy of a fault-classification bundle on freshly simulated windows (seeds and speeds not used in training)',
    )
    .requiredOption('--bundle <dir>', 'model bundle (labels must be simulator fault kinds)')
    .option(
      '--seed <n>',
      'seed of this evaluation (fresh asset seeds are derived from it)',
      (v) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 0 || n > 9999)
          fail(`--seed: expected an integer 0..9999 but received ${JSON.stringify(v)}`);
        return n;
      },
      1,
    )
    .option(
      '--count <k>',
      'windows to simulate (balanced across classes)',
      (v) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n <= 0 || n > 100_000)
          fail(`--count: expected an integer 1..100000 but received ${JSON.stringify(v)}`);
        return n;
      },
      700,
    )
    .option(
      '--rpm <lo:hi>',
      'shaft speed range (default: the band the training record held out, else 600:3600)',
      range('--rpm'),
    )
    .option('--severity <lo:hi>', 'fault severity range (default 0.2:1)', range('--severity'))
    .option(
      '--noise <lo:hi>',
      'override the sensor noise RMS, m/s^2 (default: the simulator draws 0.01..0.08)',
      range('--noise'),
    )
    .option('--backend <kind>', 'auto | native | onnx', parseBackend, 'auto')
    .option('--json', 'print the report as JSON')
    .hook('preAction', () => logToStderr())
    .action(
      async (opts: {
        bundle: string;
        seed: number;
        count: number;
        rpm?: [number, number];
        severity?: [number, number];
        noise?: [number, number];
        backend: 'auto' | 'native' | 'onnx';
        json?: boolean;
      }) => {
        let bar: cliProgress.SingleBar | undefined;
        let phase = '';
        const onProgress = (p: string, done: number, total: number): void => {
          if (!process.stderr.isTTY || opts.json) return;
          if (p !== phase) {
            bar?.stop();
            phase = p;
            bar = new cliProgress.SingleBar(
              { format: `${p.padEnd(9)} [{bar}] {value}/{total} windows  {eta}s`, stream: process.stderr },
              cliProgress.Presets.shades_classic,
            );
            bar.start(total, 0);
          }
          bar?.update(done);
          if (done === total) bar?.stop();
        };
        const r = await runEvalSim({
          onProgress,
          bundleDir: opts.bundle,
          seed: opts.seed,
          count: opts.count,
          rpm: opts.rpm,
          severity: opts.severity,
          noiseRms: opts.noise,
          backend: opts.backend,
        });
        if (opts.json) {
          process.stdout.write(JSON.stringify(r, null, 2) + '\n');
          return;
        }
        const lines = [
          `${r.model} on ${r.backend}: ${r.windows} simulated windows, seeds ${r.seeds[0]}..${r.seeds[1] - 1}, rpm ${r.ranges.rpm.join('..')}, severity ${r.ranges.severity.join('..')}${r.ranges.noiseRms ? `, noise ${r.ranges.noiseRms.join('..')} m/s^2` : ''}`,
          `accuracy ${r.accuracy.toFixed(4)}`,
          '',
          `${'class'.padEnd(15)}${'precision'.padStart(10)}${'recall'.padStart(10)}${'f1'.padStart(10)}${'support'.padStart(9)}`,
          ...r.classes.map(
            (c) =>
              `${c.label.padEnd(15)}${fmt(c.precision).padStart(10)}${fmt(c.recall).padStart(10)}${fmt(c.f1).padStart(10)}${String(c.support).padStart(9)}`,
          ),
          '',
          formatConfusion(r.confusion, r.labels),
        ];
        process.stdout.write(lines.join('\n') + '\n');
      },
    );
}
