// `vigil model convert|inspect|verify|predict`: build, look into, self-test and run model
// bundles (docs/bundles.md).
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { pino } from 'pino';
import { setRootLogger } from '../../log/logger.js';
import { fail } from '../fail.js';
import { checkDigests, loadBundle, loadVerifiedBundle, openBundleBackend } from '../../model/bundle.js';
import { convert, type ConvertProgress } from '../../model/convert.js';
import { ggufEngineFactory } from '../../model/engines.js';
import { ggufPlain } from '../../model/gguf.js';
import { anomalyScore, argmax, formatFigures } from '../../model/outputs-compare.js';
import { readTstGguf } from '../../model/tst-gguf.js';
import { tstDims } from '../../model/tst-hyperparameters.js';
import { verifyBundle } from '../../model/verify.js';
import { readWindows } from '../../model/window-file.js';

function ttyProgress(): ConvertProgress | undefined {
  if (!process.stdout.isTTY) return undefined;
  let bar: cliProgress.SingleBar | undefined;
  return {
    start(phase, total) {
      bar = new cliProgress.SingleBar(
        { format: `${phase.padEnd(10)} [{bar}] {value}/{total} windows  {eta}s`, hideCursor: true },
        cliProgress.Presets.shades_classic,
      );
      bar.start(total, 0);
    },
    tick: () => bar?.increment(),
    stop: () => bar?.stop(),
  };
}

const positiveInt =
  (flag: string) =>
  (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0)
      fail(`${flag}: expected a positive integer but received ${JSON.stringify(v)}`);
    return n;
  };

const fraction =
  (flag: string) =>
  (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0 || n > 1)
      fail(`${flag}: expected a number in [0, 1] but received ${JSON.stringify(v)}`);
    return n;
  };

const backendChoice =
  (flag: string, allowed: string[]) =>
  (v: string): string => {
    if (!allowed.includes(v))
      fail(`${flag}: expected one of ${allowed.join(', ')} but received ${JSON.stringify(v)}`);
    return v;
  };

function requireFile(flag: string, p: string): void {
  try {
    statSync(p);
  } catch {
    fail(`${flag}: no such file or directory ${p}`);
  }
}

const out = (s: string): boolean => process.stdout.write(s + '\n');

interface ConvertFlags {
  onnx: string;
  calib: string;
  out: string;
  holdout?: string;
  name?: string;
  version?: string;
  labels?: string;
  normalLabel?: string;
  task?: 'classification' | 'anomaly';
  hop?: number;
  minAgreement?: number;
  minRankCorrelation?: number;
  maxCalib?: number;
  golden?: number;
  engine: 'auto' | 'native' | 'reference';
  created?: string;
  int8Onnx: boolean;
  keepF32?: string;
  json?: boolean;
}

interface PredictFlags {
  input: string;
  backend: 'auto' | 'native' | 'onnx';
  json?: boolean;
}

function inspectGguf(file: string, json: boolean): void {
  const g = readTstGguf(readFileSync(file));
  const d = tstDims(g.h);
  const metadata = Object.fromEntries([...g.file.metadata].map(([k, v]) => [k, ggufPlain(v)]));
  const info = {
    file,
    bytes: g.file.bytes.length,
    architecture: 'vigil-tst',
    name: g.h.name,
    version: g.h.version,
    quantization: g.quantization,
    sampleRateHz: g.h.sampleRateHz,
    windowLength: g.h.windowLength,
    channels: g.h.channelNames,
    labels: g.h.labels,
    hyperparameters: { ...g.h, featureLength: d.Tf, featureChannels: d.Cf, tokens: d.N },
    tensors: g.file.tensors.map((t) => ({
      name: t.name,
      type: t.type === 0 ? 'F32' : t.type === 24 ? 'I8' : String(t.type),
      ne: t.ne,
    })),
    metadata,
  };
  if (json) {
    out(JSON.stringify(info, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2));
    return;
  }
  out(
    `${file}: GGUF v${g.file.version}, ${info.bytes} bytes, vigil-tst ${g.h.name} ${g.h.version} (${g.quantization})`,
  );
  out(
    `  input      ${g.h.windowLength} samples x [${g.h.channelNames.join(', ')}] at ${g.h.sampleRateHz} Hz, frontend ${g.h.frontend}`,
  );
  out(
    `  network    P=${d.P} N=${d.N} d=${d.d} L=${d.L} H=${d.H} F=${d.F}, reconstruction ${g.h.hasReconstruction ? 'yes' : 'no'}`,
  );
  out(`  labels     ${g.h.labels.join(', ')}`);
  out(`  tensors    ${g.file.tensors.length} (${info.tensors.filter((t) => t.type === 'I8').length} int8)`);
}

/**
 * These are interactive tools whose stdout is their result (text or --json): log lines (the
 * addon loader's, ...) go to stderr, warnings and worse unless VIGIL_LOG_LEVEL says otherwise.
 */
export function logToStderr(): void {
  setRootLogger(pino({ level: process.env.VIGIL_LOG_LEVEL ?? 'warn' }, pino.destination(2)));
}

export function register(program: Command): void {
  const model = program
    .command('model')
    .description('model bundles: convert, inspect, verify, predict')
    .hook('preAction', () => logToStderr());

  model
    .command('convert')
    .description(
      'convert an fp32 vigil-tst ONNX into a bundle with an int8 GGUF (refused when int8 disagrees with fp32)',
    )
    .requiredOption('--onnx <file>', 'fp32 vigil-tst ONNX (docs/model-format.md §3)')
    .requiredOption(
      '--calib <windows>',
      'calibration windows: <name>.json descriptor (+ .f32), .jsonl or .csv',
    )
    .requiredOption('--out <dir>', 'bundle directory to write')
    .option(
      '--holdout <windows>',
      'held-out windows for the int8 vs fp32 check (default: every 4th calibration window, kept out of calibration)',
    )
    .option('--name <id>', 'model id (default: general.name)')
    .option('--version <semver>', 'model version (default: general.version)')
    .option('--labels <a,b,...>', 'rename the class labels (same count)')
    .option('--normal-label <label>', 'the label meaning "nothing wrong" (default: healthy/normal/first)')
    .option(
      '--task <task>',
      'classification | anomaly (default: by class count)',
      backendChoice('--task', ['classification', 'anomaly']),
    )
    .option('--hop <samples>', 'samples between window starts (default: windowLength)', positiveInt('--hop'))
    .option(
      '--min-agreement <fraction>',
      'refuse below this int8 vs fp32 top-1 agreement',
      fraction('--min-agreement'),
      0.995,
    )
    .option(
      '--min-rank-correlation <r>',
      'also refuse below this anomaly-score rank correlation',
      fraction('--min-rank-correlation'),
    )
    .option(
      '--max-calib <n>',
      'use at most n calibration windows (evenly spaced)',
      positiveInt('--max-calib'),
    )
    .option('--golden <n>', 'golden windows to store', positiveInt('--golden'), 4)
    .option(
      '--engine <engine>',
      'calibration / int8 engine: auto | native | reference (TypeScript)',
      backendChoice('--engine', ['auto', 'native', 'reference']),
      'auto',
    )
    .option(
      '--keep-f32 <layers>',
      'encoder linears to keep in F32 (comma-separated, e.g. patch_embd): mixed precision',
    )
    .option('--no-int8-onnx', 'do not write model.int8.onnx (dynamic-quant graph for onnxruntime)')
    .option('--created <iso>', 'manifest creation time (default: now; SOURCE_DATE_EPOCH honoured)')
    .option('--json', 'print the result as JSON')
    .action(async (o: ConvertFlags) => {
      requireFile('--onnx', o.onnx);
      requireFile('--calib', o.calib);
      if (o.holdout) requireFile('--holdout', o.holdout);
      let created = o.created;
      if (!created && process.env.SOURCE_DATE_EPOCH)
        created = new Date(Number(process.env.SOURCE_DATE_EPOCH) * 1000).toISOString();
      if (created && Number.isNaN(Date.parse(created)))
        fail(`--created: expected an ISO time but received ${JSON.stringify(created)}`);
      const { factory, note } = await ggufEngineFactory(o.engine);
      const log = (l: string): void => {
        if (!o.json) process.stderr.write(l + '\n');
      };
      if (note) log(`note: ${note}`);
      const r = await convert({
        onnxPath: o.onnx,
        calibPath: o.calib,
        outDir: o.out,
        holdoutPath: o.holdout,
        name: o.name,
        version: o.version,
        labels: o.labels?.split(',').map((s) => s.trim()),
        normalLabel: o.normalLabel,
        task: o.task,
        hop: o.hop,
        minAgreement: o.minAgreement,
        minRankCorrelation: o.minRankCorrelation,
        maxCalibrationWindows: o.maxCalib,
        goldenCount: o.golden,
        int8Onnx: o.int8Onnx,
        keepF32: o.keepF32
          ?.split(',')
          .map((x) => x.trim())
          .filter(Boolean),
        engine: factory,
        progress: o.json ? undefined : ttyProgress(),
        log,
        created: created ? new Date(created).toISOString() : undefined,
      });
      if (o.json) {
        out(
          JSON.stringify({ accepted: r.accepted, reason: r.reason, out: o.out, figures: r.figures }, null, 2),
        );
      } else {
        const f = r.figures;
        out(
          `int8 (${f.engine}) vs fp32 ONNX on ${f.heldoutWindows} held-out windows: ${formatFigures(f.int8VsFp32Onnx)}`,
        );
        out(`fp32 engine vs fp32 ONNX: ${formatFigures(f.fp32EngineVsOnnx)}`);
        if (f.int8OnnxVsFp32Onnx)
          out(`int8 ONNX (onnxruntime, dynamic) vs fp32 ONNX: ${formatFigures(f.int8OnnxVsFp32Onnx)}`);
        if (f.int8OnnxNote) out(f.int8OnnxNote);
        if (f.heldoutAccuracy) {
          out(
            `held-out accuracy against the file's labels: int8 ${f.heldoutAccuracy.int8.toFixed(4)}, fp32 ONNX ${f.heldoutAccuracy.fp32.toFixed(4)}`,
          );
        }
        if (f.keepF32.length > 0) out(`kept in F32 (mixed precision): ${f.keepF32.join(', ')}`);
        out(
          `GGUF ${f.ggufBytes} bytes int8 (fp32 would be ${f.fp32GgufBytes}); ${f.calibrationWindows} calibration windows`,
        );
        out(r.accepted ? `wrote bundle ${o.out}` : `REFUSED: ${r.reason}; nothing written`);
      }
      if (!r.accepted) process.exitCode = 1;
    });

  model
    .command('inspect')
    .description(
      'show a bundle (or a .gguf file): architecture, hyperparameters, labels, input, versions, digests',
    )
    .argument('<bundle>', 'bundle directory or .gguf file')
    .option('--json', 'print as JSON')
    .action((dir: string, o: { json?: boolean }) => {
      requireFile('<bundle>', dir);
      if (statSync(dir).isFile()) return inspectGguf(dir, !!o.json);
      const b = loadBundle(dir);
      const m = b.manifest;
      const digests = checkDigests(b);
      const g = m.files.gguf ? readTstGguf(readFileSync(path.join(dir, m.files.gguf.path))) : undefined;
      const d = g ? tstDims(g.h) : undefined;
      const info = {
        bundle: dir,
        name: m.name,
        version: m.version,
        architecture: m.architecture,
        task: m.task,
        quantization: g?.quantization ?? null,
        sampleRateHz: m.input.sampleRateHz,
        windowLength: m.input.windowLength,
        hop: m.input.hop,
        channels: m.input.channels,
        labels: m.labels,
        normalLabel: m.normalLabel,
        input: {
          format: `float32 [${m.input.windowLength}][${m.input.channels.length}] time-major raw window`,
          frontend: m.input.frontend,
          ...(d ? { featureShape: [d.Tf, d.Cf] } : {}),
        },
        hyperparameters:
          g && d
            ? {
                patchLength: d.P,
                tokens: d.N,
                embeddingLength: d.d,
                blockCount: d.L,
                headCount: d.H,
                feedForwardLength: d.F,
                classCount: d.K,
                layerNormEpsilon: g.h.layerNormEpsilon,
                hasReconstruction: g.h.hasReconstruction,
              }
            : null,
        files: Object.fromEntries(
          Object.entries(m.files).map(([k, f]) => [
            k,
            { ...f, ok: digests.find((x) => x.key === k)?.ok ?? false },
          ]),
        ),
        digestsOk: digests.every((x) => x.ok),
        tools: m.tools ?? {},
        created: m.created,
        conversion: (m.metrics as { conversion?: unknown } | undefined)?.conversion ?? null,
        modelMetadata: m.modelMetadata ?? {},
      };
      if (o.json) {
        out(JSON.stringify(info, null, 2));
        return;
      }
      out(`${m.name} ${m.version}  (${m.architecture}, ${m.task}, ${info.quantization ?? 'no GGUF'})`);
      out(
        `  input       ${m.input.windowLength} samples x [${m.input.channels.join(', ')}] at ${m.input.sampleRateHz} Hz, hop ${m.input.hop}, frontend ${m.input.frontend.kind}${m.input.frontend.kind === 'spectral' ? ` (${m.input.frontend.bins} bins, envelope ${m.input.frontend.bandLowHz}-${m.input.frontend.bandHighHz} Hz)` : ''}`,
      );
      if (d && g)
        out(
          `  network     features ${d.Tf}x${d.Cf}, patch ${d.P} -> ${d.N} tokens, d=${d.d}, ${d.L} blocks, ${d.H} heads, ffn ${d.F}, reconstruction ${g.h.hasReconstruction ? 'yes' : 'no'}`,
        );
      out(`  labels      ${m.labels.join(', ')}  (normal: ${m.normalLabel})`);
      for (const dg of digests)
        out(
          `  ${dg.key.padEnd(11)} ${dg.path.padEnd(16)} ${String(m.files[dg.key as keyof typeof m.files]?.bytes).padStart(9)} bytes  ${dg.ok ? 'sha256 ok' : `BAD: ${dg.problem}`}`,
        );
      const conv = (
        m.metrics as { conversion?: { int8VsFp32Onnx?: Parameters<typeof formatFigures>[0] } } | undefined
      )?.conversion;
      if (conv?.int8VsFp32Onnx) out(`  int8/fp32   ${formatFigures(conv.int8VsFp32Onnx)}`);
      out(`  built       ${m.created} by vigil ${m.tools?.vigil ?? '?'}`);
      if (!info.digestsOk) process.exitCode = 1;
    });

  model
    .command('verify')
    .description(
      'self-test a bundle: manifest, SHA-256 digests, golden vectors on every available backend; exit 1 on failure',
    )
    .argument('<bundle>', 'bundle directory')
    .option('--require-all', 'fail when a backend cannot be opened here (default: skip it)')
    .option('--json', 'print as JSON')
    .action(async (dir: string, o: { json?: boolean; requireAll?: boolean }) => {
      requireFile('<bundle>', dir);
      const r = await verifyBundle(dir, { requireAll: o.requireAll });
      if (o.json) out(JSON.stringify(r, null, 2));
      else {
        for (const c of r.checks) out(`${c.status.toUpperCase().padEnd(4)}  ${c.name}: ${c.detail}`);
        out(r.ok ? `${dir}: verified` : `${dir}: FAILED`);
      }
      if (!r.ok) process.exitCode = 1;
    });

  model
    .command('predict')
    .description('run a bundle on windows from a file: label, probabilities and anomaly score per window')
    .argument('<bundle>', 'bundle directory')
    .requiredOption('--input <file>', 'windows: .jsonl, .csv, or a .json descriptor + .f32')
    .option(
      '--backend <kind>',
      'auto | native | onnx',
      backendChoice('--backend', ['auto', 'native', 'onnx']),
      'auto',
    )
    .option('--json', 'print JSON lines')
    .action(async (dir: string, o: PredictFlags) => {
      requireFile('<bundle>', dir);
      requireFile('--input', o.input);
      const b = loadVerifiedBundle(dir);
      const m = b.manifest;
      const set = readWindows(o.input, {
        windowLength: m.input.windowLength,
        channels: m.input.channels.length,
        channelNames: m.input.channels,
      });
      const { backend } = await openBundleBackend(b, { prefer: o.backend });
      try {
        for (let i = 0; i < set.windows.length; i++) {
          const r = await backend.run(set.windows[i]);
          const k = argmax(r.probs);
          const score = r.patchError.length > 0 ? anomalyScore(r) : null;
          const probs = Object.fromEntries(m.labels.map((l, j) => [l, Number(r.probs[j].toFixed(6))]));
          if (o.json) {
            out(
              JSON.stringify({
                window: i,
                label: m.labels[k],
                confidence: r.probs[k],
                probs,
                anomalyScore: score,
                ...(set.labels ? { expected: set.labels[i] } : {}),
                backend: backend.kind,
              }),
            );
          } else {
            const top = m.labels.map((l, j) => `${l} ${r.probs[j].toFixed(3)}`).join('  ');
            out(
              `#${i}  ${m.labels[k].padEnd(16)} ${top}${score !== null ? `  anomaly ${score.toExponential(3)}` : ''}${set.labels ? `  (file: ${set.labels[i]})` : ''}`,
            );
          }
        }
        if (!o.json)
          process.stderr.write(`${set.windows.length} windows on ${backend.kind} (${backend.detail})\n`);
      } finally {
        await backend.dispose();
      }
    });
}
