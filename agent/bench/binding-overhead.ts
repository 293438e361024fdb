// Per-call overhead of the Node binding (addon/binding/): wall time of `runSync()` and of an
// awaited `run()` against the engine time the binding reports (`inferenceUs`), interleaved in
// rounds so that the machine's noise hits every variant alike. Models: the benchmark's tiny
// q8 model (built in memory like `vigil bench`) and the pump-skab bundle's GGUF. runBatch8 rows
// are per window of an 8-window runBatch() (one libuv hop shared by the 8); the libuv/hop row is
// Node's own empty threadpool round trip, the floor of any async call. cpu = process CPU time
// (all threads) per window.
//
//   node dist/agent/bench/binding-overhead.js [--addon FILE] [--rounds N] [--calls N] [--json]
//
// --addon loads another build of the module (A/B: run two builds back to back in separate
// processes; two copies of the module in one process would share symbols).
import { randomFill } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { defaultAddonPath, loadAddon, type AddonModule } from '../inference/addon-loader.js';
import { benchHyperparameters } from './bench-models.js';
import { processClocks } from './interleave.js';
import { buildNativeInt8 } from './native-int8.js';
import { randomWindows } from './seeded-rng.js';
import { median } from './stats.js';
import { buildSyntheticOnnx } from './synthetic-onnx.js';

type Model = InstanceType<AddonModule['Model']>;

interface Args {
  addon: string;
  rounds: number;
  calls: number;
  json: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { addon: defaultAddonPath(), rounds: 20, calls: 200, json: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const next = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`binding-overhead: ${flag} expects a value but received none`);
      return v;
    };
    if (flag === '--addon') a.addon = path.resolve(next());
    else if (flag === '--rounds') a.rounds = Number(next());
    else if (flag === '--calls') a.calls = Number(next());
    else if (flag === '--json') a.json = true;
    else
      throw new Error(
        `binding-overhead: unknown flag ${flag}: expected --addon, --rounds, --calls or --json`,
      );
  }
  for (const k of ['rounds', 'calls'] as const) {
    if (!(Number.isInteger(a[k]) && a[k] > 0))
      throw new Error(`binding-overhead: --${k} expects a positive integer but received ${a[k]}`);
  }
  return a;
}

interface Samples {
  wallUs: number[];
  engineUs: number[];
  /** Process CPU time (every thread: JS, libuv pool, V8 helpers), per window. */
  cpuUs: number[];
}

function timeSync(model: Model, windows: Float32Array[], calls: number, s: Samples): void {
  for (let i = 0; i < calls; i++) {
    const x = windows[i % windows.length];
    const c0 = processClocks.cpuUs();
    const t0 = process.hrtime.bigint();
    const r = model.runSync(x);
    const t1 = process.hrtime.bigint();
    s.cpuUs.push(processClocks.cpuUs() - c0);
    s.wallUs.push(Number(t1 - t0) / 1000);
    s.engineUs.push(r.inferenceUs);
  }
}

async function timeAsync(model: Model, windows: Float32Array[], calls: number, s: Samples): Promise<void> {
  for (let i = 0; i < calls; i++) {
    const x = windows[i % windows.length];
    const c0 = processClocks.cpuUs();
    const t0 = process.hrtime.bigint();
    const r = await model.run(x);
    const t1 = process.hrtime.bigint();
    s.cpuUs.push(processClocks.cpuUs() - c0);
    s.wallUs.push(Number(t1 - t0) / 1000);
    s.engineUs.push(r.inferenceUs);
  }
}

/** runBatch() of `batch` windows: per-window wall and engine time (the hop shared by the batch). */
async function timeBatch(
  model: Model,
  windows: Float32Array[],
  calls: number,
  batch: number,
  s: Samples,
): Promise<void> {
  for (let i = 0; i < calls; i++) {
    const xs = Array.from({ length: batch }, (_, j) => windows[(i + j) % windows.length]);
    const c0 = processClocks.cpuUs();
    const t0 = process.hrtime.bigint();
    const rs = await model.runBatch(xs);
    const t1 = process.hrtime.bigint();
    s.cpuUs.push((processClocks.cpuUs() - c0) / batch);
    s.wallUs.push(Number(t1 - t0) / 1000 / batch);
    s.engineUs.push(rs.reduce((a, r) => a + r.inferenceUs, 0) / batch);
  }
}

/**
 * The libuv hop floor: Node's own threadpool round trip with no work (crypto.randomFill of one
 * byte), what any off-thread call pays; reported as overhead with engine time 0.
 */
async function timeHop(calls: number, s: Samples): Promise<void> {
  const b = new Uint8Array(1);
  for (let i = 0; i < calls; i++) {
    const c0 = processClocks.cpuUs();
    const t0 = process.hrtime.bigint();
    await new Promise<void>((resolve, reject) => randomFill(b, (err) => (err ? reject(err) : resolve())));
    const t1 = process.hrtime.bigint();
    s.cpuUs.push(processClocks.cpuUs() - c0);
    s.wallUs.push(Number(t1 - t0) / 1000);
    s.engineUs.push(0);
  }
}

const BATCH = 8;

interface Row {
  model: string;
  call: 'runSync' | 'run' | 'runBatch8' | 'hop';
  calls: number;
  wallMedianUs: number;
  engineMedianUs: number;
  overheadMedianUs: number;
  cpuMedianUs: number;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const addon = await loadAddon({ addonPath: args.addon });
  const models: { name: string; model: Model; windows: Float32Array[] }[] = [];

  const h = benchHyperparameters('tiny');
  const rawLen = h.windowLength * h.channelCount;
  const native = buildNativeInt8(addon, buildSyntheticOnnx(h, { seed: 1 }), randomWindows(8, rawLen, 101));
  models.push({
    name: 'tiny-q8',
    model: new addon.Model(native.int8Gguf),
    windows: randomWindows(16, rawLen, 7),
  });

  const pump = path.resolve('models/pump-skab/model.gguf');
  if (existsSync(pump)) {
    const m = new addon.Model(readFileSync(pump));
    const len = m.info.inputShape[0] * m.info.inputShape[1];
    models.push({ name: 'pump-skab', model: m, windows: randomWindows(16, len, 9) });
  }

  const samples = new Map<string, Samples>();
  const get = (k: string): Samples => {
    let s = samples.get(k);
    if (s === undefined) samples.set(k, (s = { wallUs: [], engineUs: [], cpuUs: [] }));
    return s;
  };
  // Warm-up: first calls page in code and grow V8's heap.
  for (const m of models) {
    timeSync(m.model, m.windows, 50, { wallUs: [], engineUs: [], cpuUs: [] });
    await timeAsync(m.model, m.windows, 50, { wallUs: [], engineUs: [], cpuUs: [] });
  }
  for (let r = 0; r < args.rounds; r++) {
    await timeHop(args.calls, get('libuv|hop'));
    for (const m of models) {
      timeSync(m.model, m.windows, args.calls, get(`${m.name}|runSync`));
      await timeAsync(m.model, m.windows, args.calls, get(`${m.name}|run`));
      await timeBatch(m.model, m.windows, Math.ceil(args.calls / BATCH), BATCH, get(`${m.name}|runBatch8`));
    }
  }
  const rows: Row[] = [];
  for (const [k, s] of samples) {
    const [model, call] = k.split('|') as [string, Row['call']];
    const over = s.wallUs.map((w, i) => w - s.engineUs[i]);
    rows.push({
      model,
      call,
      calls: s.wallUs.length,
      wallMedianUs: median(s.wallUs),
      engineMedianUs: median(s.engineUs),
      overheadMedianUs: median(over),
      cpuMedianUs: median(s.cpuUs),
    });
  }
  for (const m of models) m.model.dispose();
  if (args.json) {
    process.stdout.write(`${JSON.stringify({ addon: args.addon, rows }, null, 2)}\n`);
    return;
  }
  process.stdout.write(`addon ${args.addon}\n`);
  process.stdout.write('model      call      calls  wall(us)  engine(us)  overhead(us)  cpu(us)\n');
  for (const r of rows) {
    process.stdout.write(
      `${r.model.padEnd(10)} ${r.call.padEnd(9)} ${String(r.calls).padStart(5)} ${r.wallMedianUs.toFixed(1).padStart(9)} ` +
        `${r.engineMedianUs.toFixed(1).padStart(11)} ${r.overheadMedianUs.toFixed(1).padStart(13)} ${r.cpuMedianUs.toFixed(0).padStart(8)}\n`,
    );
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
