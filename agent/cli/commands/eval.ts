// `vigil eval`: model evaluations on held-out data. Each evaluation registers its subcommand
// from its own module (agent/eval/<name>.ts); this file only creates the group.
import type { Command } from 'commander';
import { registerEvalSkab } from '../../eval/skab.js';
import { registerEvalSim } from '../../eval/sim.js';
import { logToStderr } from './model.js';

export function register(program: Command): void {
  const evalGroup = program
    .command('eval')
    .description('evaluate models on held-out data')
    .hook('preAction', () => logToStderr());
  registerEvalSkab(evalGroup);
  registerEvalSim(evalGroup);
}
