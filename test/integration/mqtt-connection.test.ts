// The connection against a real mosquitto: start with the broker absent, Will on a lost
// connection, resubscription after a broker restart, QoS 1 publishes queued while offline.
import '../helpers/quiet-logs.js';
import { afterEach, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import type { MqttConfig } from '../../agent/config/types.js';
import { MqttConnection } from '../../agent/mqtt/connection.js';
import { collect, type Collector } from '../helpers/mqtt-collector.js';
import { freePort, startMosquitto } from '../helpers/mosquitto.js';

function config(url: string, protocolVersion: 4 | 5 = 5): MqttConfig {
  return {
    url,
    protocolVersion,
    keepaliveSec: 5,
    qos: 1,
    topicPrefix: 'vigil/t',
    reconnect: { initialDelayMs: 100, maxDelayMs: 400, jitter: 0.5 },
  };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

function track<T extends { stop(): Promise<void> } | { close(): Promise<void> }>(x: T): T {
  cleanups.push(async () => {
    if ('close' in x) await x.close();
    else await x.stop();
  });
  return x;
}

async function publisher(url: string) {
  const c = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
  cleanups.push(() => c.endAsync(true));
  return c;
}

describe.each([4, 5] as const)('MqttConnection (MQTT protocol %i) against mosquitto', (pv) => {
  it('starts with no broker, connects when it appears, and publishes what was queued', async () => {
    const port = await freePort();
    const conn = new MqttConnection({
      config: config(`mqtt://127.0.0.1:${port}`, pv),
      clientId: `c-absent-${pv}`,
    });
    cleanups.push(() => conn.end(500));
    conn.start();
    // retained: the subscriber below may connect after the agent already delivered it
    const queued = conn.publish('vigil/t/early', 'queued while offline', { qos: 1, retain: true });
    await new Promise((r) => setTimeout(r, 700));
    expect(conn.state).not.toBe('connected');
    expect(conn.counters().attempts).toBeGreaterThanOrEqual(2);
    const broker = track(await startMosquitto({ port }));
    const sub = track(await collect(broker.url, ['vigil/t/#']));
    await queued;
    await sub.waitFor((m) => m.topic === 'vigil/t/early', 5000, 'the queued publish');
    expect(conn.counters().connects).toBe(1);
    expect(conn.state).toBe('connected');
  });

  it('resubscribes after a broker restart and counts the reconnect', async () => {
    const broker = track(await startMosquitto());
    const conn = new MqttConnection({ config: config(broker.url, pv), clientId: `c-resub-${pv}` });
    cleanups.push(() => conn.end(500));
    const got: string[] = [];
    conn.onMessage((topic, payload) => got.push(`${topic}=${payload.toString()}`));
    conn.subscribe('sensors/+/x', 1);
    conn.start();
    await until(() => conn.connected);
    const pub = await publisher(broker.url);
    await until(async () => {
      await pub.publishAsync('sensors/a/x', '1', { qos: 1 });
      return got.includes('sensors/a/x=1');
    });
    await pub.endAsync(true);
    await broker.pause();
    await until(() => !conn.connected);
    await broker.start();
    await until(() => conn.connected, 10_000);
    expect(conn.counters().reconnects).toBe(1);
    const pub2 = await publisher(broker.url);
    await until(async () => {
      await pub2.publishAsync('sensors/b/x', '2', { qos: 1 });
      return got.includes('sensors/b/x=2');
    });
  });

  it('QoS 1 publishes made during an outage are delivered after the reconnect, none lost', async () => {
    const broker = track(await startMosquitto());
    const cfg = {
      ...config(broker.url, pv),
      reconnect: { initialDelayMs: 1500, maxDelayMs: 1500, jitter: 0 },
    };
    const conn = new MqttConnection({ config: cfg, clientId: `c-outage-${pv}` });
    cleanups.push(() => conn.end(500));
    conn.start();
    await until(() => conn.connected);
    await broker.pause();
    await until(() => !conn.connected);
    const sent = Array.from({ length: 50 }, (_, i) => conn.publish('vigil/t/outage', String(i), { qos: 1 }));
    await broker.start();
    // The subscriber is up before the agent's retry (1.5 s) fires.
    const sub = track(await collect(broker.url, ['vigil/t/outage']));
    await Promise.all(sent);
    await until(() => sub.messages.length >= 50, 5000);
    expect(sub.messages.map((m) => Number(m.payload.toString())).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 50 }, (_, i) => i),
    );
    expect(conn.counters()).toMatchObject({ reconnects: 1, publishFailures: 0, pending: 0 });
  });

  it('the retained Will marks the device offline when the connection dies', async () => {
    const broker = track(await startMosquitto());
    const conn = new MqttConnection({
      config: config(broker.url, pv),
      clientId: `c-will-${pv}`,
      will: { topic: 'vigil/t/status', payload: () => JSON.stringify({ state: 'offline' }) },
    });
    conn.start();
    await until(() => conn.connected);
    await conn.publish('vigil/t/status', JSON.stringify({ state: 'online' }), { qos: 1, retain: true });
    // Kill the TCP connection without DISCONNECT: the broker must publish the Will.
    (conn as unknown as { client: { stream: { destroy(): void } } }).client.stream.destroy();
    await conn.end(200);
    const sub: Collector = track(await collect(broker.url, ['vigil/t/status']));
    const m = await sub.waitFor((x) => (x.json as { state?: string })?.state === 'offline', 5000, 'the Will');
    expect(m.retain).toBe(true);
  });
});

async function until(pred: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await pred()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`condition not met within ${timeoutMs} ms: ${pred.toString()}`);
}
