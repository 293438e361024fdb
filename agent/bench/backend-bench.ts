// Backends benchmark (docs/backends.md): what each backend costs the EVENT LOOP, and what the
// ORT worker's thread hop and batching cost or save, on the repo's bundles, in one run.
//
//   node dist/agent/bench/backend-bench.js [--windows 64] [--batch 8] [--rounds 3]
//     [--models pump-skab,rotating-vib] [--json]
//
// For each model and backend (onnx on the JS thread, onnx in its worker, native when the addon
// loads), a burst of `windows` windows goes through run() one at a time (as the pipeline does
// with batchMax 1), then through runBatch() in batches of `batch`. Meanwhile
// perf_hooks.monitorEventLoopDelay samples the loop (1 ms resolution). Reported: loop delay
// p99/max during each burst, wall time per window, and for the worker the mean hop (round trip
// minus in-worker time, since open). Each burst runs `rounds` times, interleaved across backends;
// medians are reported. Numbers are for this machine and this run: compare ratios, not values.
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { PACKAGE_ROOT } from '../package-root.js';
import { loadBundle } from '../model/bundle.js';
import { loadAddon } from '../inference/addon-loader.js';
import type { Backend } from '../inference/backend.js';
import { openNativeBackend } from '../inference/native-backend.js';
import { OnnxWorkerBackend } from '../inference/onnx-worker-backend.js';
import { randomWindows } from './seeded-rng.js';
import { median } from './stats.js';

export interface BurstResult {
  model: string;
  backend: 'onnx-main' | 'onnx-worker' | 'native';
  mode: 'run' | 'runBatch';
  windows: number;
  batch: number;
  /** Wall time of the burst divided by its windows, microseconds. */
  usPerWindow: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  /** Worker only: mean round trip minus in-worker time per call, microseconds. */
  hopUsMean?: number;
}

export interface BenchOptions {
  models: string[];
  windows: number;
  batch: number;
  /** Bursts per backend and mode; medians are reported (max for loop max). */
  rounds: number;
}

async function burst(
  b: Backend,
  xs: Float32Array[],
  batch: number,
): Promise<{ us: number; p99: number; max: number }> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  // A ticking timer, as the agent's MQTT keepalive and health timers are: without pending
  // timers an idle loop has nothing to be late for.
  const timer = setInterval(() => undefined, 1);
  h.enable();
  const t0 = process.hrtime.bigint();
  if (batch <= 1) for (const x of xs) await b.run(x);
  else
    for (let i = 0; i < xs.length; i += batch)
      await (b.runBatch as NonNullable<Backend['runBatch']>)(xs.slice(i, i + batch));
  const us = Number(process.hrtime.bigint() - t0) / 1000;
  h.disable();
  clearInterval(timer);
  // A burst shorter than the resolution records no sample: no measurable delay.
  if (h.count === 0) return { us: us / xs.length, p99: 0, max: 0 };
  return { us: us / xs.length, p99: h.percentile(99) / 1e6, max: h.max / 1e6 };
}

export async function runBackendBench(o: BenchOptions): Promise<BurstResult[]> {
  const out: BurstResult[] = [];
  let addon: Awaited<ReturnType<typeof loadAddon>> | null = null;
  try {
    addon = await loadAddon();
  } catch {
    addon = null;
  }
  for (const model of o.models) {
    const { dir, manifest } = loadBundle(path.join(PACKAGE_ROOT, 'models', model));
    const len = manifest.input.windowLength * manifest.input.channels.length;
    const xs = randomWindows(o.windows, len, 1); // content does not matter for loop delay
    const opened: [BurstResult['backend'], () => Promise<Backend>][] = [];
    if (manifest.files.onnx) {
      const onnxPath = path.join(dir, manifest.files.onnx.path);
      opened.push(
        [
          'onnx-main',
          async () => (await import('../inference/onnx-backend.js')).OnnxBackend.open(onnxPath, manifest),
        ],
        ['onnx-worker', () => OnnxWorkerBackend.open(onnxPath, manifest)],
      );
    }
    if (addon && manifest.files.gguf) {
      const a = addon;
      const gguf = path.join(dir, manifest.files.gguf.path);
      opened.push(['native', async () => openNativeBackend(a, gguf)]);
    }
    const backends: [BurstResult['backend'], Backend][] = [];
    try {
      for (const [name, open] of opened) backends.push([name, await open()]);
      for (const [, b] of backends) await burst(b, xs.slice(0, Math.min(8, xs.length)), 1); // warm-up
      // Rounds interleave the backends so that a change in machine load hits them all alike.
      const runs = new Map<string, { us: number[]; p99: number[]; max: number[] }>();
      for (let round = 0; round < o.rounds; round++) {
        for (const [name, b] of backends) {
          for (const batch of [1, o.batch]) {
            const r = await burst(b, xs, batch);
            const key = `${name}:${batch}`;
            const acc = runs.get(key) ?? { us: [], p99: [], max: [] };
            acc.us.push(r.us);
            acc.p99.push(r.p99);
            acc.max.push(r.max);
            runs.set(key, acc);
          }
        }
      }
      for (const [name, b] of backends) {
        for (const batch of [1, o.batch]) {
          const acc = runs.get(`${name}:${batch}`) as { us: number[]; p99: number[]; max: number[] };
          const res: BurstResult = {
            model,
            backend: name,
            mode: batch <= 1 ? 'run' : 'runBatch',
            windows: xs.length,
            batch,
            usPerWindow: median(acc.us),
            loopDelayP99Ms: median(acc.p99),
            loopDelayMaxMs: Math.max(...acc.max),
          };
          const c = b.counters?.();
          if (name === 'onnx-worker' && c) res.hopUsMean = c.hopUsMean;
          out.push(res);
        }
      }
    } finally {
      for (const [, b] of backends) await b.dispose();
    }
  }
  return out;
}

export function formatBench(rs: BurstResult[]): string {
  const lines = ['model          backend      mode      batch  us/window  loop p99 ms  loop max ms  hop us'];
  for (const r of rs) {
    lines.push(
      [
        r.model.padEnd(14),
        r.backend.padEnd(12),
        r.mode.padEnd(9),
        String(r.batch).padStart(5),
        r.usPerWindow.toFixed(0).padStart(10),
        r.loopDelayP99Ms.toFixed(2).padStart(12),
        r.loopDelayMaxMs.toFixed(2).padStart(12),
        (r.hopUsMean === undefined ? '' : r.hopUsMean.toFixed(0)).padStart(7),
      ].join(' '),
    );
  }
  const find = (m: string, b: string, mode: string) =>
    rs.find((r) => r.model === m && r.backend === b && r.mode === mode);
  for (const m of new Set(rs.map((r) => r.model))) {
    const main = find(m, 'onnx-main', 'run');
    const worker = find(m, 'onnx-worker', 'run');
    const wb = find(m, 'onnx-worker', 'runBatch');
    const nat = find(m, 'native', 'run');
    const nb = find(m, 'native', 'runBatch');
    if (main && worker)
      lines.push(
        `${m}: loop p99 main/worker ${(main.loopDelayP99Ms / Math.max(worker.loopDelayP99Ms, 1e-3)).toFixed(1)}x, ` +
          `per-window time worker/main ${(worker.usPerWindow / main.usPerWindow).toFixed(2)}x` +
          (wb ? `, worker batched/unbatched ${(wb.usPerWindow / worker.usPerWindow).toFixed(2)}x` : '') +
          (nat && nb ? `, native batched/unbatched ${(nb.usPerWindow / nat.usPerWindow).toFixed(2)}x` : ''),
      );
  }
  return lines.join('\n');
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? (process.argv[i + 1] as string) : fallback;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const windows = Number(arg('windows', '64'));
  const batch = Number(arg('batch', '8'));
  if (!Number.isInteger(windows) || windows < 1 || !Number.isInteger(batch) || batch < 1) {
    process.stderr.write(
      `backend-bench: expected integers >= 1 for --windows and --batch but received ${windows}, ${batch}\n`,
    );
    process.exit(2);
  }
  const rounds = Number(arg('rounds', '3'));
  const models = arg('models', 'pump-skab,rotating-vib').split(',');
  const rs = await runBackendBench({ models, windows, batch, rounds: Math.max(1, Math.floor(rounds) || 1) });
  process.stdout.write(
    (process.argv.includes('--json') ? JSON.stringify(rs, null, 2) : formatBench(rs)) + '\n',
  );
}
