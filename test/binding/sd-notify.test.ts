// sdNotify against real AF_UNIX datagram sockets (Node cannot create them: a small
// /usr/bin/python3 receiver binds one, path and abstract forms).
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AddonModule } from '../../agent/inference/addon-loader.js';
import { realAddon, thrown } from './addon-helpers.js';

const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
// Binds the socket, says "bound", prints each datagram received (newlines as |), exits.
const RECEIVER = `
import socket, sys
name = sys.argv[1]
addr = '\\0' + name[1:] if name.startswith('@') else name
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(addr)
print('bound', flush=True)
s.settimeout(10)
for _ in range(int(sys.argv[2])):
    print('got:' + s.recv(4096).decode().replace('\\n', '|'), flush=True)
`;
import { tempDir } from '../helpers/temp-dir.js';

interface Receiver {
  proc: ChildProcessWithoutNullStreams;
  lines: string[];
  waitFor(n: number): Promise<string[]>;
}

function startReceiver(name: string, count: number): Promise<Receiver> {
  const proc = spawn(PYTHON, ['-c', RECEIVER, name, String(count)]);
  const lines: string[] = [];
  let buf = '';
  const waiters: (() => void)[] = [];
  proc.stdout.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
    waiters.splice(0).forEach((w) => w());
  });
  const waitFor = (n: number) =>
    new Promise<string[]>((resolve, reject) => {
      const check = (): void => {
        if (lines.length >= n) resolve(lines.slice());
        else waiters.push(check);
      };
      // 'close', not 'exit': 'exit' can come before the last stdout chunk is read (seen under
      // qemu on a loaded machine: the receiver got every datagram and exited 0, the test had
      // not read its lines yet).
      proc.once('close', (code) =>
        lines.length >= n
          ? resolve(lines.slice())
          : reject(new Error(`receiver exited ${code}: ${lines.join('|')}`)),
      );
      check();
    });
  const r = { proc, lines, waitFor };
  running.push(proc);
  return waitFor(1).then(() => r);
}

let addon: AddonModule;
const running: ChildProcessWithoutNullStreams[] = [];
const savedSocket = process.env.NOTIFY_SOCKET;

beforeAll(async () => {
  addon = await realAddon();
});

afterEach(() => {
  for (const p of running.splice(0)) p.kill();
  if (savedSocket === undefined) delete process.env.NOTIFY_SOCKET;
  else process.env.NOTIFY_SOCKET = savedSocket;
});

describe('sdNotify', () => {
  it('returns false when NOTIFY_SOCKET is unset', () => {
    delete process.env.NOTIFY_SOCKET;
    expect(addon.sdNotify('READY=1')).toBe(false);
  });

  it('sends to a path socket', async () => {
    const sock = path.join(tempDir('vigil-notify-'), 'notify.sock');
    const r = await startReceiver(sock, 2);
    process.env.NOTIFY_SOCKET = sock;
    expect(addon.sdNotify('READY=1')).toBe(true);
    expect(addon.sdNotify('STATUS=running 3 models\nWATCHDOG=1')).toBe(true);
    expect(await r.waitFor(3)).toEqual(['bound', 'got:READY=1', 'got:STATUS=running 3 models|WATCHDOG=1']);
  });

  it('sends to an abstract socket (@name)', async () => {
    const name = `@vigil-test-${process.pid}-${Date.now()}`;
    const r = await startReceiver(name, 1);
    process.env.NOTIFY_SOCKET = name;
    expect(addon.sdNotify('READY=1')).toBe(true);
    expect(await r.waitFor(2)).toEqual(['bound', 'got:READY=1']);
  });

  it('throws ADDON_NOTIFY on socket errors and ADDON_INVALID_ARGUMENT on bad states', () => {
    process.env.NOTIFY_SOCKET = path.join(tmpdir(), `vigil-no-such-socket-${process.pid}`);
    const e = thrown(() => addon.sdNotify('READY=1'));
    expect(e.code).toBe('ADDON_NOTIFY');
    expect(e.message).toContain('sendto()');
    process.env.NOTIFY_SOCKET = 'relative.sock';
    expect(thrown(() => addon.sdNotify('READY=1')).code).toBe('ADDON_NOTIFY');
    process.env.NOTIFY_SOCKET = '/' + 'x'.repeat(200);
    expect(thrown(() => addon.sdNotify('READY=1')).message).toContain('longer than');
    expect(thrown(() => addon.sdNotify('' as string)).code).toBe('ADDON_INVALID_ARGUMENT');
    expect(thrown(() => addon.sdNotify(1 as never)).code).toBe('ADDON_INVALID_ARGUMENT');
  });
});
