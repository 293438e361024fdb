// A complete AgentConfig for tests, through the real config loader (so defaults are the shipped ones).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { completeConfig } from '../../agent/config/load.js';
import type { AgentConfig } from '../../agent/config/types.js';

export function testConfig(raw: Record<string, unknown> & { mqtt?: Record<string, unknown> }): AgentConfig {
  const dataDir = (raw.dataDir as string | undefined) ?? mkdtempSync(path.join(tmpdir(), 'vigil-data-'));
  return completeConfig(
    {
      deviceId: 'test-gw',
      dataDir,
      ...raw,
      mqtt: {
        keepaliveSec: 5,
        reconnect: { initialDelayMs: 100, maxDelayMs: 1000, jitter: 0.5 },
        ...(raw.mqtt ?? {}),
      },
    },
    { baseDir: process.cwd(), source: 'test config' },
  );
}
