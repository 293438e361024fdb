#!/usr/bin/env node
// The `vigil` command: wiring only. Each command group registers itself from
// agent/cli/commands/<group>.ts; exit codes: 0 ok, 1 runtime failure, 2 usage error.
import '../inference/ort-telemetry.js'; // before onnxruntime-node: its telemetry off (ort-telemetry.ts)
import { Command, CommanderError } from 'commander';
import { UsageError } from './fail.js';
import { VERSION } from '../version.js';
import { register as registerConfig } from './commands/config.js';
import { register as registerRun } from './commands/run.js';
import { register as registerModel } from './commands/model.js';
import { register as registerEngine } from './commands/engine.js';
import { register as registerSimulate } from './commands/simulate.js';
import { register as registerEval } from './commands/eval.js';
import { register as registerBench } from './commands/bench.js';

export function buildProgram(): Command {
  const program = new Command('vigil')
    .description('On-device int8 Transformer diagnostics for industrial machines, over MQTT')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  // command groups: one line each
  registerRun(program);
  registerConfig(program);
  registerModel(program);
  registerEngine(program);
  registerSimulate(program);
  registerEval(program);
  registerBench(program);
  return program;
}

// `vigil ... | head` closes our stdout early: that ends the command quietly, not with a crash.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode === undefined ? 0 : Number(process.exitCode));
  throw err;
});

async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with exit code 0; usage errors with 2.
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof UsageError) {
      process.stderr.write(`vigil: ${err.message}\n`);
      return 2;
    }
    const e = err as Error & { code?: string };
    process.stderr.write(`vigil: ${e.code ? `[${e.code}] ` : ''}${e.message}\n`);
    return 1;
  }
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`vigil: ${String(err)}\n`);
    process.exitCode = 1;
  },
);
