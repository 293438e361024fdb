// The agent's pipeline against a real mosquitto with a small real model (tiny ONNX bundle):
// status lifecycle, windows -> diagnoses, rejections on `errors` and in `health`, and no stall of
// other assets when one sends garbage. What the model predicts is not asserted here (random
// weights); the shipped model's diagnoses are tested in agent-e2e.test.ts.
import '../helpers/quiet-logs.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeBinaryFrame } from '../../agent/ingest/binary-frame.js';
import { startAgent, type RunningAgent } from '../../agent/pipeline/agent.js';
import { testConfig } from '../helpers/agent-config.js';
import { collect } from '../helpers/mqtt-collector.js';
import { freePort, startMosquitto } from '../helpers/mosquitto.js';
import { writeTinyBundle } from '../helpers/tiny-bundle.js';

const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
const schema = (n: string) =>
  ajv.compile(JSON.parse(readFileSync(path.join('docs/schemas', `${n}.schema.json`), 'utf8')));
const valid = {
  diagnosis: schema('diagnosis'),
  status: schema('status'),
  errors: schema('errors'),
  health: schema('health'),
};

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

const bundle = writeTinyBundle();

function config(url: string, extra: Record<string, unknown> = {}) {
  return testConfig({
    mqtt: { url },
    models: { tiny: { bundle: bundle.dir, backend: 'onnx' } },
    assets: [
      {
        id: '{1}',
        model: 'tiny',
        inputs: [{ topic: 'sensors/+/accel', format: 'json-block' }],
        debounce: { n: 1, m: 1 },
        heartbeatSec: 3600,
        anomaly: { enabled: false },
      },
      {
        id: 'frame-{1}',
        model: 'tiny',
        inputs: [{ topic: 'frames/+/accel', format: 'binary-frame' }],
        debounce: { n: 1, m: 1 },
        heartbeatSec: 3600,
        anomaly: { enabled: false },
      },
    ],
    health: { intervalSec: 3600 },
    errors: { maxPerSec: 1000 },
    limits: { maxPayloadBytes: 4096 },
    ...extra,
  });
}

/** One 16-sample, 3-channel block at 100 Hz starting at t0. */
function block(t0: number, f = 5): string {
  const ch = (phase: number) =>
    Array.from({ length: 16 }, (_, i) => Math.sin(2 * Math.PI * f * (i / 100) + phase));
  return JSON.stringify({ t0, rateHz: 100, values: { ax: ch(0), ay: ch(1), az: ch(2) } });
}

async function start(url: string, extra: Record<string, unknown> = {}): Promise<RunningAgent> {
  const agent = await startAgent(config(url, extra), { addon: null });
  cleanups.push(() => agent.stop());
  return agent;
}

describe('agent pipeline (tiny ONNX model, real mosquitto)', () => {
  it('status online (retained) -> diagnoses -> stop publishes stopping then offline', async () => {
    const broker = await startMosquitto();
    cleanups.push(() => broker.stop());
    const agent = await start(broker.url);
    const sub = await collect(broker.url, ['vigil/test-gw/#']);
    cleanups.push(() => sub.close());
    const online = await sub.waitFor(
      (m) => m.topic === 'vigil/test-gw/status' && (m.json as { state: string }).state === 'online',
      5000,
      'status online',
    );
    expect(valid.status(online.json), JSON.stringify(valid.status.errors)).toBe(true);
    expect((online.json as { models: unknown[] }).models).toEqual([
      { id: 'tiny', version: '0.1.0', backend: 'onnx', detail: 'cpu' },
    ]);

    const pub = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    cleanups.push(() => pub.endAsync(true));
    const t0 = 1_763_856_000_000;
    for (let k = 0; k < 3; k++) await pub.publishAsync('sensors/m1/accel', block(t0 + k * 160), { qos: 1 });
    const d = await sub.waitFor((m) => m.topic === 'vigil/test-gw/diagnosis/m1', 5000, 'a diagnosis of m1');
    expect(valid.diagnosis(d.json), JSON.stringify(valid.diagnosis.errors)).toBe(true);
    const dj = d.json as {
      label: string;
      window: { start: number; end: number; samples: number };
      model: { backend: string };
      bootId: string;
    };
    expect(bundle.manifest.labels).toContain(dj.label);
    expect(dj.window).toEqual({ start: t0, end: t0 + 160, samples: 16 });
    expect(dj.model.backend).toBe('onnx');
    expect(dj.bootId).toBe(agent.bootId);

    await agent.stop();
    const states = sub.messages
      .filter((m) => m.topic === 'vigil/test-gw/status')
      .map((m) => (m.json as { state: string }).state);
    expect(states.slice(-2)).toEqual(['stopping', 'offline']);
    // A late subscriber sees the retained offline, without the Will flag (clean stop).
    const late = await collect(broker.url, ['vigil/test-gw/status']);
    cleanups.push(() => late.close());
    const retained = await late.waitFor(() => true, 3000, 'the retained status');
    expect(retained.retain).toBe(true);
    expect(retained.json).toMatchObject({ state: 'offline' });
    expect((retained.json as { will?: boolean }).will).toBeUndefined();
  });

  it('rejects malformed, oversized, NaN and wrong-shape payloads on errors and in health; other assets keep flowing', async () => {
    const broker = await startMosquitto();
    cleanups.push(() => broker.stop());
    const agent = await start(broker.url);
    const sub = await collect(broker.url, ['vigil/test-gw/#']);
    cleanups.push(() => sub.close());
    await sub.waitFor((m) => m.topic.endsWith('/status'), 5000, 'status');
    const pub = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    cleanups.push(() => pub.endAsync(true));

    const bad: [string, string | Buffer, string][] = [
      ['sensors/bad/accel', '{"t0": 1, "rateHz": 100, "values": ', 'PAYLOAD_INVALID'], // malformed JSON
      ['sensors/bad/accel', 'x'.repeat(5000), 'PAYLOAD_TOO_LARGE'], // over limits.maxPayloadBytes
      [
        'sensors/bad/accel',
        '{"t0": 1, "rateHz": 100, "values": {"ax": ["NaN", 1], "ay": [1, 2], "az": [1, 2]}}',
        'PAYLOAD_NONFINITE',
      ],
      [
        'sensors/bad/accel',
        '{"t0": 1, "rateHz": 100, "values": {"ax": [1, 2, 3], "ay": [1], "az": [1, 2]}}',
        'PAYLOAD_INVALID',
      ], // ragged
      ['sensors/bad/accel', '{"t0": 1, "rateHz": 100, "values": {"temp": [1, 2]}}', 'PAYLOAD_INVALID'], // no model channel
      [
        'frames/bad/accel',
        Buffer.from(
          encodeBinaryFrame({
            sampleType: 'float32',
            sampleRateHz: 100,
            t0Ms: 1,
            channels: [
              [1, 2],
              [Number.NaN, 4],
              [5, 6],
            ],
          }),
        ),
        'PAYLOAD_NONFINITE',
      ],
      // a block at 50 Hz for a 100 Hz model: dropped whole, no resampling
      ['sensors/bad/accel', block(1).replace('"rateHz":100', '"rateHz":50'), 'PAYLOAD_RATE_MISMATCH'],
      // a captured topic level that cannot be an asset id
      ['sensors/$bad/accel', block(1), 'INGEST_UNSAFE_ASSET_ID'],
    ];
    const t0 = 1_763_856_000_000;
    for (let k = 0; k < bad.length; k++) {
      await pub.publishAsync(bad[k][0], bad[k][1], { qos: 1 });
      // a healthy asset interleaved with the garbage
      await pub.publishAsync('sensors/good/accel', block(t0 + k * 160), { qos: 1 });
    }
    const errs = await waitForCount(() => sub.on('vigil/test-gw/errors'), bad.length);
    for (const e of errs) expect(valid.errors(e.json), JSON.stringify(valid.errors.errors)).toBe(true);
    expect(errs.map((e) => (e.json as { code: string }).code).sort()).toEqual(bad.map((b) => b[2]).sort());
    expect(
      errs.every((e) => /^(sensors|frames)\/\$?bad\/accel$/.test((e.json as { topic: string }).topic)),
    ).toBe(true);
    await waitForCount(() => sub.on('vigil/test-gw/diagnosis/good'), 1);
    // The assembler emits a window once the next block shows it complete: n blocks, n-1 windows.
    const windows = bad.length - 1;
    await waitForCount(() => (agent.stats().assets.good?.windows === windows ? [1] : []), 1);

    const h = await agent.publishHealth();
    expect(valid.health(JSON.parse(JSON.stringify(h))), JSON.stringify(valid.health.errors)).toBe(true);
    expect(h.inputs['sensors/+/accel'].rejected).toBe(6);
    expect(h.inputs['sensors/+/accel'].rejectedByReason).toEqual({
      PAYLOAD_INVALID: 3,
      PAYLOAD_TOO_LARGE: 1,
      PAYLOAD_NONFINITE: 1,
      PAYLOAD_RATE_MISMATCH: 1,
    });
    expect(h.assets.bad.counters.rateMismatch).toBe(3); // the assembler counts each channel's block
    expect(Object.keys(h.assets)).not.toContain('$bad');
    expect(h.inputs['frames/+/accel'].rejectedByReason).toEqual({ PAYLOAD_NONFINITE: 1 });
    expect(h.assets.good.windows).toBe(windows);
    expect(h.models.tiny.inferences).toBe(windows);
    await sub.waitFor((m) => m.topic === 'vigil/test-gw/health', 3000, 'the published health');
  });

  it('starts with the broker absent, connects when it appears, and publishes', async () => {
    const port = await freePort();
    const agent = await start(`mqtt://127.0.0.1:${port}`);
    await new Promise((r) => setTimeout(r, 600));
    expect(agent.stats().connection.state).not.toBe('connected');
    expect(agent.stats().connection.attempts).toBeGreaterThanOrEqual(2);
    const broker = await startMosquitto({ port });
    cleanups.push(() => broker.stop());
    const sub = await collect(broker.url, ['vigil/test-gw/#']);
    cleanups.push(() => sub.close());
    await sub.waitFor(
      (m) => m.topic === 'vigil/test-gw/status' && (m.json as { state: string }).state === 'online',
      5000,
      'online after the broker appeared',
    );
    const pub = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    cleanups.push(() => pub.endAsync(true));
    // The agent's SUBSCRIBE may trail its status by a few ms: keep sending until a diagnosis shows.
    const waiting = sub.waitFor(
      (m) => m.topic === 'vigil/test-gw/diagnosis/late',
      5000,
      'a diagnosis after connecting',
    );
    for (let k = 0; k < 40 && !sub.on('vigil/test-gw/diagnosis/late').length; k++) {
      await pub.publishAsync('sensors/late/accel', block(1_763_856_000_000 + k * 160), { qos: 1 });
      await new Promise((r) => setTimeout(r, 100));
    }
    await waiting;
  });

  it('publishes health every health.intervalSec, valid against its schema', async () => {
    const broker = await startMosquitto();
    cleanups.push(() => broker.stop());
    await start(broker.url, { health: { intervalSec: 1 } });
    const sub = await collect(broker.url, ['vigil/test-gw/health']);
    cleanups.push(() => sub.close());
    await sub.waitFor(() => sub.messages.length >= 2, 5000, 'two health messages');
    for (const m of sub.messages)
      expect(valid.health(m.json), JSON.stringify(valid.health.errors)).toBe(true);
    const [a, b] = sub.messages.map(
      (m) => m.json as { seq: number; ts: number; connection: { state: string; connects: number } },
    );
    expect(b.seq).toBeGreaterThan(a.seq);
    expect(b.ts - a.ts).toBeGreaterThanOrEqual(900);
    expect(b.connection).toMatchObject({ state: 'connected', connects: 1 });
  });

  it('plain-text readings (no sender time: arrival time) on a one-channel model give windows and a diagnosis', async () => {
    const one = writeTinyBundle(undefined, {
      hp: { name: 'tiny-one', channelNames: ['level'], channelCount: 1 },
    });
    const broker = await startMosquitto();
    cleanups.push(() => broker.stop());
    const agent = await startAgent(
      testConfig({
        mqtt: { url: broker.url },
        models: { one: { bundle: one.dir, backend: 'onnx' } },
        assets: [
          {
            id: 'tank-{1}',
            model: 'one',
            inputs: [{ topic: 'plain/+/level', format: 'text' }],
            debounce: { n: 1, m: 1 },
            anomaly: { enabled: false },
          },
        ],
        health: { intervalSec: 3600 },
      }),
      { addon: null },
    );
    cleanups.push(() => agent.stop());
    const sub = await collect(broker.url, ['vigil/test-gw/diagnosis/#']);
    cleanups.push(() => sub.close());
    const pub = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    cleanups.push(() => pub.endAsync(true));
    // 100 Hz model: one reading every ~10 ms of wall time, 6 windows' worth (a timer hiccup on a
    // busy machine makes a gap the assembler restarts after: there is room for that)
    for (let i = 0; i < 96; i++) {
      await pub.publishAsync('plain/7/level', String(Math.sin(i / 4).toFixed(4)), { qos: 0 });
      await new Promise((r) => setTimeout(r, 10));
    }
    const d = await sub.waitFor(
      (m) => m.topic === 'vigil/test-gw/diagnosis/tank-7',
      5000,
      'a diagnosis from text input',
    );
    expect(one.manifest.labels).toContain((d.json as { label: string }).label);
    expect(agent.stats().inputs['plain/+/level']).toMatchObject({
      format: 'text',
      messages: 96,
      rejected: 0,
    });
  });

  it('systemd: READY=1 at start, WATCHDOG=1 while healthy, STOPPING=1 at stop', async () => {
    const broker = await startMosquitto();
    cleanups.push(() => broker.stop());
    const sent: string[] = [];
    const agent = await startAgent(config(broker.url), {
      addon: null,
      sdNotify: (s) => (sent.push(s), true),
      watchdogMs: 200,
    });
    cleanups.push(() => agent.stop());
    expect(sent[0]).toBe('READY=1');
    await new Promise((r) => setTimeout(r, 450)); // idle but healthy: pinged every 100 ms
    expect(sent.filter((s) => s === 'WATCHDOG=1').length).toBeGreaterThanOrEqual(2);
    await agent.stop();
    expect(sent.at(-1)).toBe('STOPPING=1');
    const pings = sent.length;
    await new Promise((r) => setTimeout(r, 250));
    expect(sent.length).toBe(pings); // no pings after stop
  });

  it('an overflowing inference queue drops by policy and counts every drop', async () => {
    const broker = await startMosquitto();
    cleanups.push(() => broker.stop());
    const agent = await start(broker.url, { inference: { queueDepth: 1, dropPolicy: 'drop-oldest' } });
    const pub = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    cleanups.push(() => pub.endAsync(true));
    // 40 windows in one burst: far more than one queued window while another runs
    await Promise.all(
      Array.from({ length: 41 }, (_, k) =>
        pub.publishAsync('sensors/burst/accel', block(1_763_856_000_000 + k * 160), { qos: 1 }),
      ),
    );
    await waitForCount(() => (agent.stats().assets.burst?.counters.windows === 40 ? [1] : []), 1);
    await agent.stop(); // drains what is queued
    const st = agent.stats();
    const q = st.models.tiny.queue;
    expect(q.dropped).toBeGreaterThan(0);
    expect(q.enqueued).toBe(40); // drop-oldest admits every new window and evicts queued ones
    expect(st.models.tiny.inferences + q.dropped).toBe(40);
    expect(st.assets.burst.counters.droppedWindows).toBe(q.dropped);
  });

  it('stop() with the broker absent ends promptly', async () => {
    const port = await freePort();
    const agent = await startAgent(config(`mqtt://127.0.0.1:${port}`), { addon: null });
    await new Promise((r) => setTimeout(r, 300));
    await agent.stop();
    expect(agent.stats().state).toBe('stopped');
    expect(agent.stats().connection.state).toBe('closed');
  });

  it('stop() leaves no timers, sockets or other handles behind', async () => {
    const broker = await startMosquitto();
    cleanups.push(() => broker.stop());
    const count = () => {
      const m = new Map<string, number>();
      for (const r of process.getActiveResourcesInfo()) m.set(r, (m.get(r) ?? 0) + 1);
      return m;
    };
    await new Promise((r) => setTimeout(r, 50));
    const before = count();
    const agent = await startAgent(config(broker.url, { health: { intervalSec: 1 } }), {
      addon: null,
      watchdogMs: 1000,
      sdNotify: () => true,
    });
    const pub = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    for (let k = 0; k < 3; k++)
      await pub.publishAsync('sensors/leak/accel', block(1_763_856_000_000 + k * 160), { qos: 1 });
    await pub.endAsync(true);
    await waitForCount(() => (agent.stats().assets.leak?.windows === 2 ? [1] : []), 1);
    await agent.stop();
    await new Promise((r) => setTimeout(r, 100));
    const after = count();
    for (const [kind, n] of after)
      expect(n, `${kind} handles after stop`).toBeLessThanOrEqual(before.get(kind) ?? 0);
  });

  it('a bad bundle fails start with one coded error', async () => {
    await expect(
      startAgent(
        testConfig({
          models: { x: { bundle: '/nonexistent/bundle' } },
          assets: [{ id: 'a', model: 'x', inputs: [{ topic: 's/a', format: 'text' }] }],
        }),
        { addon: null },
      ),
    ).rejects.toMatchObject({ code: 'MODEL_BUNDLE_INVALID' });
  });
});

async function waitForCount<T>(get: () => T[], n: number, timeoutMs = 5000): Promise<T[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const xs = get();
    if (xs.length >= n) return xs;
    if (Date.now() > deadline)
      throw new Error(`expected ${n} items within ${timeoutMs} ms but got ${xs.length}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
