// onnxruntime-node's telemetry stays off in the agent's processes (agent/inference/ort-telemetry.ts):
// the compiled CLI runs a bundle's golden vectors on the onnx backend with HOME and TMPDIR in
// empty temp dirs and ORT_DISABLE_TELEMETRY absent from its environment; ORT left on writes
// $HOME/.cache/Microsoft/DeveloperTools/.onnxruntime/{deviceid,onnxruntime.db} and
// $TMPDIR/mat-debug-<pid>.log there.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { disableOrtTelemetry } from '../../agent/inference/ort-telemetry.js';
import { tempDir } from '../helpers/temp-dir.js';

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => !e.isDirectory())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

describe('onnxruntime telemetry', () => {
  it('is off in the agent: a session leaves no device id, event store or debug log behind', () => {
    const home = tempDir('vigil-ort-home-');
    const tmp = tempDir('vigil-ort-tmp-');
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, TMPDIR: tmp };
    delete env.ORT_DISABLE_TELEMETRY;
    delete env.XDG_CACHE_HOME;
    const r = spawnSync(process.execPath, ['dist/agent/cli/main.js', 'model', 'verify', 'models/pump-skab'], {
      encoding: 'utf8',
      timeout: 60_000,
      env,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/PASS\s+golden onnx/); // an ORT session did run
    expect(filesUnder(home)).toEqual([]);
    expect(filesUnder(tmp)).toEqual([]);
  });

  it('sets ORT_DISABLE_TELEMETRY=1 unless the operator set it', () => {
    const unset: NodeJS.ProcessEnv = {};
    expect(disableOrtTelemetry(unset)).toBe('1');
    expect(unset.ORT_DISABLE_TELEMETRY).toBe('1');
    const optedIn: NodeJS.ProcessEnv = { ORT_DISABLE_TELEMETRY: '0' };
    expect(disableOrtTelemetry(optedIn)).toBe('0');
  });
});
