import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from '../helpers/temp-dir.js';

const unit = readFileSync('systemd/vigil.service', 'utf8');
const hasAnalyze = spawnSync('sh', ['-c', 'command -v systemd-analyze'], { stdio: 'ignore' }).status === 0;

describe('systemd unit', () => {
  it('is a notify service with a watchdog and no MemoryDenyWriteExecute (V8 needs W+X)', () => {
    expect(unit).toMatch(/^Type=notify$/m);
    expect(unit).toMatch(/^WatchdogSec=\d+$/m);
    expect(unit).toMatch(/^Restart=always$/m);
    expect(unit).toMatch(/^Environment=ORT_DISABLE_TELEMETRY=1$/m); // onnxruntime-node's telemetry off
    expect(unit).not.toMatch(/^MemoryDenyWriteExecute=/m);
  });

  it.skipIf(!hasAnalyze)('passes systemd-analyze verify', () => {
    const dir = tempDir('vigil-unit-');
    copyFileSync('systemd/vigil.service', path.join(dir, 'vigil.service'));
    const r = spawnSync('systemd-analyze', ['verify', path.join(dir, 'vigil.service')], { encoding: 'utf8' });
    // verify warns about the missing /opt/vigil install; anything else is a defect of the unit
    const problems = (r.stderr + r.stdout)
      .split('\n')
      .filter((l) => l.trim() && !/\/opt\/vigil|Command .* is not executable|No such file/.test(l));
    expect(problems).toEqual([]);
  });

  it.skipIf(!hasAnalyze)('scores an exposure of at most 2.0 in systemd-analyze security', () => {
    const dir = tempDir('vigil-unit-');
    copyFileSync('systemd/vigil.service', path.join(dir, 'vigil.service'));
    const out = execFileSync(
      'systemd-analyze',
      ['security', '--offline=true', path.join(dir, 'vigil.service')],
      {
        encoding: 'utf8',
      },
    );
    const m = /Overall exposure level for vigil\.service: ([\d.]+)/.exec(out);
    expect(m, out.slice(-500)).not.toBeNull();
    expect(Number(m![1])).toBeLessThanOrEqual(2.0);
  });
});
