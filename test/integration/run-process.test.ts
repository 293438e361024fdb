// `vigil run` as systemd runs it: a real process (the compiled CLI) against a real mosquitto.
// SIGTERM mid-stream: exit 0 within a few seconds, `stopping` then `offline` on the retained status.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { collect } from '../helpers/mqtt-collector.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { writeTinyBundle } from '../helpers/tiny-bundle.js';
import { tempDir } from '../helpers/temp-dir.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

function exited(child: ChildProcess): Promise<{ code: number | null; signal: string | null }> {
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

describe('vigil run (process)', () => {
  it('stops on SIGTERM mid-stream: exit 0, status stopping then offline', async () => {
    const broker = await startMosquitto();
    cleanups.push(() => broker.stop());
    const bundle = writeTinyBundle();
    const dir = tempDir('vigil-run-');
    const configFile = path.join(dir, 'config.yaml');
    writeFileSync(
      configFile,
      [
        'deviceId: will-be-overridden',
        `dataDir: ${path.join(dir, 'data')}`,
        'models:',
        `  tiny: { bundle: ${bundle.dir}, backend: onnx }`,
        'assets:',
        '  - id: "{1}"',
        '    model: tiny',
        '    inputs: [{ topic: "sensors/+/accel", format: json-block }]',
        '    debounce: { n: 1, m: 1 }',
        '    anomaly: { enabled: false }',
        '',
      ].join('\n'),
    );
    const sink = await collect(broker.url, ['vigil/proc-1/#']);
    cleanups.push(() => sink.close());

    const child = spawn(
      process.execPath,
      [
        'dist/agent/cli/main.js',
        'run',
        '--config',
        configFile,
        '--broker',
        broker.url,
        '--device-id',
        'proc-1',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const done = exited(child);
    cleanups.push(async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });

    await sink.waitFor(
      (m) => m.topic === 'vigil/proc-1/status' && (m.json as { state?: string })?.state === 'online',
      20_000,
      'status online',
    );

    // stream blocks until diagnoses flow, then keep streaming while SIGTERM arrives
    const pub = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    cleanups.push(() => pub.endAsync());
    let t0 = Date.now();
    const values = (k: number) => Array.from({ length: 16 }, (_, i) => Math.sin(i + k));
    const send = () => {
      t0 += 160;
      return pub.publishAsync(
        'sensors/m1/accel',
        JSON.stringify({ t0, rateHz: 100, values: { ax: values(1), ay: values(2), az: values(3) } }),
        { qos: 1 },
      );
    };
    const streaming = setInterval(() => void send().catch(() => undefined), 20);
    cleanups.push(async () => clearInterval(streaming));
    await sink.waitFor((m) => m.topic === 'vigil/proc-1/diagnosis/m1', 20_000, 'a diagnosis for m1');

    const signalledAt = Date.now();
    child.kill('SIGTERM');
    const result = await Promise.race([
      done,
      new Promise<never>((_, reject) =>
        // "within a few seconds" is the contract (systemd's TimeoutStopSec is 20 s)
        setTimeout(
          () => reject(new Error(`no exit 10 s after SIGTERM; output:\n${output.slice(-2000)}`)),
          10_000,
        ),
      ),
    ]);
    clearInterval(streaming);
    expect(result, output.slice(-2000)).toEqual({ code: 0, signal: null });

    const states = sink.messages
      .filter((m) => m.topic === 'vigil/proc-1/status' && m.at >= signalledAt)
      .map((m) => (m.json as { state: string }).state);
    // tolerate a repeated state, not a reordering
    const order = states.filter((s, i) => s !== states[i - 1]);
    expect(order, `states after SIGTERM: ${states.join(',')}`).toEqual(['stopping', 'offline']);

    // the retained status a newcomer sees is offline
    const late = await collect(broker.url, ['vigil/proc-1/status']);
    cleanups.push(() => late.close());
    const retained = await late.waitFor(() => true, 5000, 'retained status');
    expect(retained.retain).toBe(true);
    expect((retained.json as { state: string }).state).toBe('offline');
  }, 60_000);
});
