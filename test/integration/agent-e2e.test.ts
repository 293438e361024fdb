// End to end with the shipped model: simulated machines -> MQTT -> the agent -> diagnoses.
// A clearly faulty machine (severe imbalance) must be diagnosed `imbalance`, a healthy one
// `healthy`, with each available backend, for every high-rate input format.
// The shipped bundle models/rotating-vib is required (a missing bundle fails this file). The
// native backend runs where the addon is built and loads; onnxruntime always.
import '../helpers/quiet-logs.js';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { PayloadFormat } from '../../agent/config/types.js';
import { loadAddon } from '../../agent/inference/addon-loader.js';
import type { Manifest } from '../../agent/model/manifest-types.js';
import { startAgent } from '../../agent/pipeline/agent.js';
import { testConfig } from '../helpers/agent-config.js';
import { collect, type Collected } from '../helpers/mqtt-collector.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { feedSimulated } from '../helpers/sim-feed.js';

// VIGIL_TEST_VIB_BUNDLE points at another bundle directory (e.g. a converter output under test).
const BUNDLE = process.env.VIGIL_TEST_VIB_BUNDLE ?? 'models/rotating-vib';
const manifest = JSON.parse(readFileSync(`${BUNDLE}/manifest.json`, 'utf8')) as Manifest;
const addon = await loadAddon().catch(() => null);
const backends = (['native', 'onnx'] as const).filter((b) =>
  b === 'native' ? addon !== null && !!manifest.files.gguf : !!manifest.files.onnx,
);

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

const cases: { backend: 'native' | 'onnx'; format: PayloadFormat; sampleType?: 'int16' | 'float32' }[] = [];
for (const backend of backends) cases.push({ backend, format: 'json-block' });
if (backends.length > 0) {
  cases.push({ backend: backends[0], format: 'binary-frame', sampleType: 'float32' });
  cases.push({ backend: backends[0], format: 'binary-frame', sampleType: 'int16' });
}

describe('end to end with models/rotating-vib', () => {
  it.each(cases)(
    '$format ($sampleType) on $backend: imbalance and healthy are told apart',
    async ({ backend, format, sampleType }) => {
      const m = manifest;
      const broker = await startMosquitto();
      cleanups.push(() => broker.stop());
      const channel = m.input.channels[0];
      const agent = await startAgent(
        testConfig({
          mqtt: { url: broker.url },
          models: { 'rotating-vib': { bundle: BUNDLE, backend } },
          assets: [
            {
              id: '{1}',
              model: 'rotating-vib',
              inputs: [{ topic: 'sensors/+/vibration', format, channel }],
              debounce: { n: 2, m: 3 },
              heartbeatSec: 3600,
              anomaly: { enabled: false },
            },
          ],
          health: { intervalSec: 3600 },
        }),
        { addon: backend === 'native' ? addon : null },
      );
      cleanups.push(() => agent.stop());
      const sub = await collect(broker.url, ['vigil/test-gw/#']);
      cleanups.push(() => sub.close());
      await sub.waitFor((x) => x.topic.endsWith('/status'), 5000, 'status online');

      const windowSec = m.input.windowLength / m.input.sampleRateHz;
      const hopSec = m.input.hop / m.input.sampleRateHz;
      await feedSimulated({
        url: broker.url,
        assets: [
          { id: 'sick', fault: 'imbalance', severity: 0.9 },
          { id: 'fine', fault: 'healthy' },
        ],
        format,
        sampleRateHz: m.input.sampleRateHz,
        seconds: windowSec + 6 * hopSec,
        channelNames: { radial: channel },
        encode: { sampleType },
      });
      const label = (x: Collected) => (x.json as { label: string }).label;
      const sick = await sub.waitFor(
        (x) => x.topic === 'vigil/test-gw/diagnosis/sick',
        20_000,
        'a diagnosis of the faulty machine',
      );
      const fine = await sub.waitFor(
        (x) => x.topic === 'vigil/test-gw/diagnosis/fine',
        20_000,
        'a diagnosis of the healthy machine',
      );
      expect(label(sick)).toBe('imbalance');
      expect(label(fine)).toBe(m.normalLabel);
      expect((sick.json as { model: { backend: string } }).model.backend).toBe(backend);
      const stats = agent.stats();
      if (process.env.VIGIL_E2E_PRINT) {
        // Figures for the report (not asserted): per-window backend time and event-loop delay.
        const h = await agent.publishHealth();
        console.log(
          JSON.stringify({
            backend,
            format,
            latencyUs: h.models['rotating-vib'].latencyUs,
            eventLoopDelayP99Ms: h.system.eventLoopDelayMs,
          }),
        );
      }
      expect(stats.inputs['sensors/+/vibration'].rejected).toBe(0);
    },
    90_000,
  );

  it.each(backends)(
    'a machine that develops imbalance after commissioning opens an anomaly event (%s)',
    async (backend) => {
      const m = manifest;
      const broker = await startMosquitto();
      cleanups.push(() => broker.stop());
      const channel = m.input.channels[0];
      const baselineWindows = 100; // the default; with 12-20 the embedding T^2 (d = 64) false-alarms
      const agent = await startAgent(
        testConfig({
          mqtt: { url: broker.url },
          models: { 'rotating-vib': { bundle: BUNDLE, backend } },
          assets: [
            {
              id: '{1}',
              model: 'rotating-vib',
              inputs: [{ topic: 'sensors/+/vibration', format: 'json-block', channel }],
              anomaly: { enabled: true, baselineWindows },
            },
          ],
          health: { intervalSec: 3600 },
        }),
        { addon: backend === 'native' ? addon : null },
      );
      cleanups.push(() => agent.stop());
      const sub = await collect(broker.url, ['vigil/test-gw/anomaly/#', 'vigil/test-gw/errors']);
      cleanups.push(() => sub.close());
      const hopSec = m.input.hop / m.input.sampleRateHz;
      const learnSec = m.input.windowLength / m.input.sampleRateHz + (baselineWindows + 2) * hopSec;
      const start = 1_763_856_000_000;
      const common = {
        url: broker.url,
        format: 'json-block' as const,
        sampleRateHz: m.input.sampleRateHz,
        channelNames: { radial: channel },
      };
      // Same machine id, same speed: healthy while the baseline is learned, then imbalance.
      await feedSimulated({
        ...common,
        assets: [{ id: 'm7', fault: 'healthy', rpm: 1500 }],
        seconds: learnSec,
        startMs: start,
      });
      const deadline = Date.now() + 20_000;
      while (agent.stats().assets.m7?.anomaly.state !== 'watching' && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      expect(agent.stats().assets.m7.anomaly.state).toBe('watching');
      expect(sub.on('vigil/test-gw/anomaly/m7')).toEqual([]); // nothing while healthy
      await feedSimulated({
        ...common,
        assets: [{ id: 'm7', fault: 'imbalance', severity: 0.9, rpm: 1500 }],
        seconds: 8 * hopSec + 1,
        startMs: start + learnSec * 1000,
      });
      const open = await sub.waitFor(
        (x) => x.topic === 'vigil/test-gw/anomaly/m7' && (x.json as { state: string }).state === 'open',
        20_000,
        'an anomaly open',
      );
      // The open comes from windows that contain the imbalance; its `since` may reach back one
      // or two marginal healthy windows of the same run above threshold.
      const change = start + learnSec * 1000;
      expect((open.json as { windowEnd: number }).windowEnd).toBeGreaterThan(change);
      expect(sub.on('vigil/test-gw/errors')).toEqual([]);
    },
    90_000,
  );
});
