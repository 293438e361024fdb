// Temporary directories for tests. Each test file's directories are removed after its tests
// (test/setup/remove-temp-dirs.ts registers removeTempDirs as an afterAll hook for every file:
// vitest ends its workers without a process 'exit' event, so an exit hook alone left them all
// in /tmp, a tmpfs in RAM on many Pi images), and, as a fallback, when the process exits.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const dirs: string[] = [];

export function removeTempDirs(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

process.once('exit', removeTempDirs);

export function tempDir(prefix: string): string {
  const d = mkdtempSync(path.join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}
