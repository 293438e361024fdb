// A complete AgentConfig for tests, through the real config loader (so defaults are the shipped ones).
import { completeConfig } from '../../agent/config/load.js';
import type { AgentConfig } from '../../agent/config/types.js';
import { tempDir } from './temp-dir.js';

export function testConfig(raw: Record<string, unknown> & { mqtt?: Record<string, unknown> }): AgentConfig {
  const dataDir = (raw.dataDir as string | undefined) ?? tempDir('vigil-data-');
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
