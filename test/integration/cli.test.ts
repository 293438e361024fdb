// The `vigil` command as a user meets it: the compiled CLI (dist/), help, exit codes, config check.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from '../helpers/temp-dir.js';

function vigil(...args: string[]) {
  const r = spawnSync(process.execPath, ['dist/agent/cli/main.js', ...args], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('vigil CLI', () => {
  it('prints help for the program and for run', () => {
    const top = vigil('--help');
    expect(top.code).toBe(0);
    expect(top.out).toMatch(/Usage: vigil/);
    expect(top.out).toMatch(/\brun\b/);
    expect(top.out).toMatch(/\bconfig\b/);
    const run = vigil('run', '--help');
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/--config <file>/);
    expect(run.out).toMatch(/--broker <url>/);
    expect(run.out).toMatch(/--device-id <id>/);
  });

  it('exits 2 with a clear message on an unknown flag or a bad value', () => {
    const unknown = vigil('run', '--bogus');
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/unknown option '--bogus'/);
    const bad = vigil('run', '--log-level', 'loud');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/loud/);
    const port = vigil('run', '--demo', '--port', 'abc');
    expect(port.code).toBe(2);
    expect(port.err).toMatch(/expected --port an integer 0..65535 but received "abc"/);
  });

  it('checks the example configuration', () => {
    const r = vigil('config', 'check', 'configs/example.yaml');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/valid/);
  });

  it('names the field of a config with a wrong type and exits 1', () => {
    const dir = tempDir('vigil-cli-');
    const file = path.join(dir, 'bad.yaml');
    writeFileSync(file, 'deviceId: gw-1\nmqtt:\n  keepaliveSec: soon\n');
    const r = vigil('config', 'check', file);
    expect(r.code).toBe(1);
    expect(r.err).toContain(
      'mqtt.keepaliveSec: expected a value of type integer but received "soon" of type string',
    );
  });
});
