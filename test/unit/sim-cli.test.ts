import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { register } from '../../agent/cli/commands/simulate.js';
import { UsageError } from '../../agent/cli/fail.js';
import '../helpers/quiet-logs.js';

function run(...args: string[]): Promise<unknown> {
  const program = new Command('vigil').exitOverride();
  program.configureOutput({ writeErr: () => {}, writeOut: () => {} });
  register(program);
  return program.parseAsync(['node', 'vigil', 'simulate', ...args]);
}

describe('vigil simulate flags', () => {
  it.each([
    [['--rate-hz', 'abc'], /--rate-hz a number .* received "abc"/],
    [['--seed', '1.5'], /--seed an integer/],
    [['--block-ms', '0'], /--block-ms a number in \[1, 60000\]/],
    [['--duration-sec', '-1'], /--duration-sec/],
    [['--assets', 'x:rust'], /--assets: Expected a fault of .* received "rust"/],
    [['--assets', 'x:imbalance:7'], /severity in \[0, 1\]/],
    [['--format', 'text'], /sampleRateHz <= 1000 for format text/],
    [['--format', 'sparkplug', '--rate-hz', '2000'], /sampleRateHz <= 1000 for format sparkplug/],
    [['--format', 'text', '--rate-hz', '10', '--axial'], /multi-channel format with --axial/],
  ])('%j is a usage error', async (args, message) => {
    const p = run('--broker', 'mqtt://127.0.0.1:1', ...args);
    await expect(p).rejects.toBeInstanceOf(UsageError);
    await expect(p).rejects.toThrow(message);
  });

  it('rejects a broker that is not a URL and an unknown format', async () => {
    await expect(run('--broker', 'localhost')).rejects.toThrow(/--broker a URL like mqtt:\/\/host:1883/);
    await expect(run('--broker', 'mqtt://h', '--format', 'xml')).rejects.toThrow(/Allowed choices/);
  });
});
