// `vigil bench [--json] [--sizes tiny,mid,large] [--runs N]`: the native int8 engine against
// onnxruntime-node (fp32 and int8 dynamic quant) in one process, interleaved; see
// docs/benchmarks.md. The table goes to stdout (or one JSON object with --json), progress to stderr.
import '../../inference/ort-telemetry.js'; // before onnxruntime-node: its telemetry off (ort-telemetry.ts)
import type { Command } from 'commander';
import { pino } from 'pino';
import { defaultAddonPath, loadAddon } from '../../inference/addon-loader.js';
import { BENCH_SIZES, parseSizes, type BenchSize } from '../../bench/bench-models.js';
import { formatReport } from '../../bench/format-report.js';
import { runBench } from '../../bench/run-bench.js';
import { fail } from '../fail.js';
import { setRootLogger } from '../../log/logger.js';

interface BenchFlags {
  json?: boolean;
  sizes: string;
  runs?: string;
  threads?: string;
  isa: boolean;
  bundles: boolean;
  bundle?: string[];
  memory: boolean;
  gemm: boolean;
  quiet?: boolean;
  breakdown?: boolean | string;
}

export function register(program: Command): void {
  program
    .command('bench')
    .description(
      'benchmark the native int8 engine against onnxruntime-node (fp32 and int8) on synthetic and shipped models',
    )
    .option('--json', 'print one JSON object with every figure')
    .option(
      '--sizes <list>',
      'synthetic model sizes: tiny, mid, large (comma-separated), or none',
      'tiny,mid,large',
    )
    .option('--runs <n>', 'timed runs per contender (default: tiny 300, mid 100, large 30; bundles 200)')
    .option(
      '--threads <n>',
      'also time the engine pool and ORT int8 with n threads (informational; targets are single-core)',
    )
    .option('--no-isa', 'skip the per-ISA sweep of the native engine')
    .option(
      '--bundle <dir...>',
      'bundle directories to measure (default: models/rotating-vib, models/pump-skab)',
    )
    .option('--no-bundles', 'skip the bundles')
    .option('--no-memory', 'skip the RSS measurements (child processes)')
    .option('--no-gemm', 'skip the kernel GEMM benchmark (build/native/vigil_bench_gemm)')
    .option(
      '--breakdown [size]',
      "also time variants of one size (default mid) to see where the engine's time goes",
    )
    .option('--quiet', 'no progress lines on stderr')
    .action(async (flags: BenchFlags) => {
      let sizes;
      try {
        sizes = parseSizes(flags.sizes);
      } catch (err) {
        fail((err as Error).message);
      }
      let runs: number | undefined;
      if (flags.runs !== undefined) {
        runs = Number(flags.runs);
        if (!Number.isInteger(runs) || runs < 1)
          fail(`Expected a positive integer for --runs but received ${JSON.stringify(flags.runs)}`);
      }
      // stdout is the result (table or JSON): log lines (the addon loader's) go to stderr.
      setRootLogger(pino({ level: process.env.VIGIL_LOG_LEVEL ?? 'warn' }, pino.destination(2)));
      let threads: number | undefined;
      if (flags.threads !== undefined) {
        threads = Number(flags.threads);
        if (!Number.isInteger(threads) || threads < 1 || threads > 64) {
          fail(`Expected an integer in [1, 64] for --threads but received ${JSON.stringify(flags.threads)}`);
        }
      }
      let breakdown: BenchSize | undefined;
      if (flags.breakdown !== undefined) {
        const b = flags.breakdown === true ? 'mid' : String(flags.breakdown);
        if (!(BENCH_SIZES as readonly string[]).includes(b)) {
          fail(`Expected --breakdown among ${BENCH_SIZES.join(', ')} but received ${JSON.stringify(b)}`);
        }
        breakdown = b as BenchSize;
      }
      const addonPath = defaultAddonPath();
      const addon = await loadAddon({ addonPath });
      let ort: typeof import('onnxruntime-node');
      try {
        ort = await import('onnxruntime-node');
      } catch (err) {
        throw Object.assign(
          new Error(
            `failed to load onnxruntime-node, the benchmark's peer, on ${process.platform}/${process.arch}: ${(err as Error).message}`,
            { cause: err },
          ),
          { code: 'BENCH_PEER_UNAVAILABLE' },
        );
      }
      const log = flags.quiet ? undefined : (line: string) => process.stderr.write(`bench: ${line}\n`);
      const report = await runBench(
        { addon, addonPath, ort },
        {
          sizes,
          runs,
          threads,
          isaSweep: flags.isa,
          bundles: flags.bundles,
          bundleDirs: flags.bundle,
          memory: flags.memory,
          gemm: flags.gemm,
          breakdown,
          log,
        },
      );
      process.stdout.write(flags.json ? JSON.stringify(report, null, 2) + '\n' : formatReport(report));
    });
}
