// The README's first command ends in `vigil run --demo` (npm start): an embedded broker,
// simulated machines and the agent with the shipped rotating-vib bundle. It must show the right
// diagnoses flowing, one line each, and stop cleanly on Ctrl-C (SIGINT).
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('quick-start demo (vigil run --demo)', () => {
  it('prints the right diagnoses for healthy and faulty machines, then stops on SIGINT', async () => {
    const child = spawn(
      process.execPath,
      [
        'dist/agent/cli/main.js',
        'run',
        '--demo',
        '--port',
        '0',
        '--assets',
        'fan-1:healthy,pump-2:imbalance:0.8,motor-3:bearing_outer:0.8',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const want = [
        /diagnosis {2}fan-1 +healthy /,
        /diagnosis {2}pump-2 +imbalance /,
        /diagnosis {2}motor-3 +bearing_outer /,
      ];
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`demo output after 60 s:\n${out.slice(-3000)}`)),
          60_000,
        );
        const check = () => {
          if (want.every((re) => re.test(out))) {
            clearTimeout(timer);
            resolve();
          }
        };
        child.stdout.on('data', check);
        child.once('exit', () => reject(new Error(`demo exited early:\n${out.slice(-3000)}`)));
      });
      expect(out).toMatch(/embedded broker at mqtt:\/\/127\.0\.0\.1:\d+/);
      child.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(out).toMatch(/vigil demo: stopped/);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 90_000);
});
