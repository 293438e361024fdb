// The agent on the native engine: `auto` picks it for a bundle with a GGUF when the addon loads,
// `native` without the addon fails start with a coded error, and windows are inferred on it.
import '../helpers/quiet-logs.js';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { loadAddon } from '../../agent/inference/addon-loader.js';
import { startAgent } from '../../agent/pipeline/agent.js';
import { testConfig } from '../helpers/agent-config.js';
import { collect } from '../helpers/mqtt-collector.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { writeTinyGgufBundle } from '../helpers/tiny-bundle.js';

const addon = await loadAddon().catch(() => null);
const bundle = writeTinyGgufBundle();
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

const cfg = (url: string, backend: string) =>
  testConfig({
    mqtt: { url },
    models: { tiny: { bundle: bundle.dir, backend } },
    assets: [
      {
        id: '{1}',
        model: 'tiny',
        inputs: [{ topic: 'sensors/+/x', format: 'binary-frame' }],
        debounce: { n: 1, m: 1 },
        anomaly: { enabled: false },
      },
    ],
    health: { intervalSec: 3600 },
  });

describe('agent on the native engine', () => {
  it.skipIf(!addon)('auto selects native for a GGUF bundle and diagnoses windows with it', async () => {
    const broker = await startMosquitto();
    cleanups.push(() => broker.stop());
    const agent = await startAgent(cfg(broker.url, 'auto'), { addon });
    cleanups.push(() => agent.stop());
    const sub = await collect(broker.url, ['vigil/test-gw/#']);
    cleanups.push(() => sub.close());
    const st = await sub.waitFor((m) => m.topic.endsWith('/status'), 5000, 'status');
    const model = (st.json as { models: { backend: string; detail: string }[] }).models[0];
    expect(model.backend).toBe('native');
    expect(addon!.engineInfo().available).toContain(model.detail);
    const pub = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    cleanups.push(() => pub.endAsync(true));
    const { encodeBinaryFrame } = await import('../../agent/ingest/binary-frame.js');
    for (let k = 0; k < 3; k++) {
      const ch = (p: number) => Array.from({ length: 16 }, (_, i) => Math.sin(i / 3 + p + k));
      await pub.publishAsync(
        'sensors/n1/x',
        Buffer.from(
          encodeBinaryFrame({
            sampleType: 'float32',
            sampleRateHz: 100,
            t0Ms: 1_763_856_000_000 + k * 160,
            channels: [ch(0), ch(1)],
          }),
        ),
        { qos: 1 },
      );
    }
    const d = await sub.waitFor((m) => m.topic === 'vigil/test-gw/diagnosis/n1', 5000, 'a diagnosis');
    expect((d.json as { model: { backend: string } }).model.backend).toBe('native');
    expect(bundle.manifest.labels).toContain((d.json as { label: string }).label);
    const h = await agent.publishHealth();
    expect(h.models.tiny.inferences).toBe(2);
    expect(h.models.tiny.latencyUs.count).toBe(2);
  });

  it('backend native without the addon: start fails with ADDON_UNAVAILABLE; onnx without an ONNX file: BACKEND_UNAVAILABLE', async () => {
    await expect(startAgent(cfg('mqtt://127.0.0.1:1', 'native'), { addon: null })).rejects.toMatchObject({
      code: 'ADDON_UNAVAILABLE',
    });
    await expect(startAgent(cfg('mqtt://127.0.0.1:1', 'onnx'), { addon: null })).rejects.toMatchObject({
      code: 'BACKEND_UNAVAILABLE',
    });
    await expect(startAgent(cfg('mqtt://127.0.0.1:1', 'auto'), { addon: null })).rejects.toThrow(
      /native: .*unavailable.*onnx: .*no ONNX file/,
    );
  });
});
