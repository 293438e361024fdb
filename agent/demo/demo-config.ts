// The quick start's built-in configuration: an embedded broker, simulated machines, and the
// shipped models. Everything a first run needs, nothing to write.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { completeConfig } from '../config/load.js';
import type { AgentConfig } from '../config/types.js';

/** Simulated vibration assets (the simulator's asset spec): some healthy, some faulty. */
export const DEMO_ASSETS_SPEC =
  'fan-1:healthy,pump-2:imbalance:0.8,motor-3:bearing_outer:0.8,compressor-4:misalignment:0.7';

/** The demo's agent configuration; models resolve against the package's models/ folder. */
export function demoConfig(opts: {
  brokerUrl: string;
  deviceId: string;
  dataDir: string;
  packageRoot: string;
}): AgentConfig {
  const models: Record<string, { bundle: string }> = {};
  const vib = path.join(opts.packageRoot, 'models', 'rotating-vib');
  if (!existsSync(path.join(vib, 'manifest.json'))) {
    const e = new Error(`failed to find the shipped model bundle ${vib}: reinstall vigil (npm ci)`);
    (e as Error & { code: string }).code = 'DEMO_MODEL_MISSING';
    throw e;
  }
  models['rotating-vib'] = { bundle: vib };
  return completeConfig(
    {
      deviceId: opts.deviceId,
      dataDir: opts.dataDir,
      // aedes speaks MQTT 3.1.1 only
      mqtt: { url: opts.brokerUrl, keepaliveSec: 10, protocolVersion: 4 },
      models,
      assets: [
        {
          id: '{1}',
          model: 'rotating-vib',
          inputs: [{ topic: 'sensors/+/vibration', format: 'json-block', channel: 'accel' }],
          // quick feedback for a first look: a change shows after 2 of 3 windows
          debounce: { n: 2, m: 3 },
          heartbeatSec: 5,
          // 100 windows (~100 s) of normal behaviour: fewer than the embedding's 64 dimensions
          // leaves the baseline's covariance too thin and healthy machines raise events
          anomaly: { enabled: true, baselineWindows: 100 },
        },
      ],
      health: { intervalSec: 10 },
    },
    { baseDir: opts.packageRoot, source: 'built-in demo configuration' },
  );
}
