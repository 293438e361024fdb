// A real mosquitto for integration tests: its own config on a free loopback port, started with
// `/usr/sbin/mosquitto -c <config>`, ready when it accepts TCP connections, stopped by pid.
// Run as root, mosquitto drops to user `mosquitto`: its files are made world-readable.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const MOSQUITTO_BIN = process.env.VIGIL_MOSQUITTO ?? '/usr/sbin/mosquitto';

export interface Mosquitto {
  port: number;
  url: string;
  pid: number;
  /** Everything mosquitto wrote to stdout/stderr (for failure messages). */
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Stop (SIGTERM) and start again on the same port; the broker keeps nothing (persistence false). */
  restart(): Promise<void>;
  /** Stop without removing the config, to start() it again later. */
  pause(): Promise<void>;
  start(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

const running = new Set<ChildProcess>();
// A test that throws before its afterEach/finally still must not leave a broker behind.
process.once('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

export async function startMosquitto(opts: { port?: number; extraConfig?: string } = {}): Promise<Mosquitto> {
  const port = opts.port ?? (await freePort());
  const dir = mkdtempSync(path.join(tmpdir(), 'vigil-mosq-'));
  chmodSync(dir, 0o755);
  const conf = path.join(dir, 'mosquitto.conf');
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'persistence false',
      'log_dest stdout',
      'log_type error',
      'log_type warning',
      'max_queued_messages 100000',
      opts.extraConfig ?? '',
      '',
    ].join('\n'),
  );
  chmodSync(conf, 0o644);
  let child: ChildProcess | null = null;
  let out = '';

  const launch = async () => {
    const p = spawn(MOSQUITTO_BIN, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = p;
    running.add(p);
    p.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    let exited = false;
    p.once('exit', () => {
      exited = true;
      running.delete(p);
    });
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (exited) throw new Error(`mosquitto exited at start on port ${port}: ${out}`);
      if (await canConnect(port)) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    p.kill('SIGKILL');
    throw new Error(`mosquitto did not accept connections on port ${port} within 10 s: ${out}`);
  };

  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    const p = child;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => p.kill('SIGKILL'), 5000);
      p.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      p.kill(signal);
    });
    child = null;
  };

  await launch();
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    get pid() {
      return (child as ChildProcess | null)?.pid ?? -1;
    },
    output: () => out,
    stop: async (signal) => {
      await stop(signal);
      rmSync(dir, { recursive: true, force: true });
    },
    pause: async () => {
      await stop();
    },
    start: async () => {
      await launch();
    },
    // relaunch keeps the config file: only stop() removes it
    restart: async () => {
      await stop();
      await launch();
    },
  };
}
