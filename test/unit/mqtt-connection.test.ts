// MqttConnection with a fake MQTT.js client and fake timers: our reconnect schedule, resubscribe
// on every CONNACK, Will refresh, back-pressure. The real broker is in test/integration.
import '../helpers/quiet-logs.js';
import { EventEmitter } from 'node:events';
import type { IClientOptions, MqttClient } from 'mqtt';
import { describe, expect, it } from 'vitest';
import type { MqttConfig } from '../../agent/config/types.js';
import { backoffDelayMs } from '../../agent/mqtt/backoff.js';
import { MqttConnection, type Timers } from '../../agent/mqtt/connection.js';

class FakeClient extends EventEmitter {
  options: IClientOptions;
  reconnects = 0;
  subscribed: Record<string, { qos: number }>[] = [];
  publishes: { topic: string; cb: (err?: Error) => void }[] = [];
  incomingStore = {};
  outgoingStore = {};
  constructor(opts: IClientOptions) {
    super();
    this.options = opts;
  }
  reconnect(stores: unknown) {
    expect(stores).toEqual({ incomingStore: this.incomingStore, outgoingStore: this.outgoingStore });
    this.reconnects++;
    return this;
  }
  subscribe(map: Record<string, { qos: number }>, cb: (err: Error | null, granted: unknown[]) => void) {
    this.subscribed.push(map);
    cb(null, []);
  }
  publish(topic: string, _payload: unknown, _o: unknown, cb: (err?: Error) => void) {
    this.publishes.push({ topic, cb });
  }
  end(_force: boolean, _o: unknown, cb: () => void) {
    cb();
  }
}

function fakeTimers() {
  const pending: { at: number; fn: () => void; id: number }[] = [];
  let now = 0;
  let id = 0;
  const timers: Timers = {
    setTimeout: (fn, ms) => {
      pending.push({ at: now + ms, fn, id: ++id });
      return id;
    },
    clearTimeout: (h) => {
      const i = pending.findIndex((p) => p.id === h);
      if (i >= 0) pending.splice(i, 1);
    },
  };
  return {
    timers,
    pending,
    /** Runs the next timer; returns its delay from the previous `now`. */
    fireNext(): number {
      pending.sort((a, b) => a.at - b.at);
      const t = pending.shift();
      if (!t) throw new Error('no timer pending');
      const delay = t.at - now;
      now = t.at;
      t.fn();
      return delay;
    },
  };
}

const cfg: MqttConfig = {
  url: 'mqtt://broker:1883',
  protocolVersion: 5,
  keepaliveSec: 30,
  qos: 1,
  topicPrefix: 'vigil/d',
  reconnect: { initialDelayMs: 1000, maxDelayMs: 60_000, jitter: 0.5 },
};

function setup(random: () => number) {
  const t = fakeTimers();
  let client!: FakeClient;
  let willCalls = 0;
  const conn = new MqttConnection({
    config: cfg,
    clientId: 'c1',
    timers: t.timers,
    random,
    will: { topic: 'vigil/d/status', payload: () => `offline-${++willCalls}` },
    maxPending: 2,
    connect: (_url, opts) => {
      client = new FakeClient(opts);
      return client as unknown as MqttClient;
    },
  });
  conn.start();
  return { conn, t, client: () => client };
}

describe('MqttConnection (fake client)', () => {
  it('builds MQTT 5 options: clean session, no MQTT.js reconnect, unique ids, retained Will', () => {
    const { client } = setup(() => 0.5);
    const o = client().options;
    expect(o).toMatchObject({
      clientId: 'c1',
      protocolVersion: 5,
      clean: true,
      reconnectPeriod: 0,
      resubscribe: false,
      keepalive: 30,
    });
    expect(o.properties).toEqual({ sessionExpiryInterval: 0 });
    expect(o.messageIdProvider?.constructor.name).toBe('UniqueMessageIdProvider');
    expect(o.will).toMatchObject({ topic: 'vigil/d/status', qos: 1, retain: true });
    expect(String(o.will?.payload)).toBe('offline-1');
  });

  it('retries a broker that stays down on the jittered exponential schedule, capped', () => {
    const rs = [0, 0.999, 0.25, 0.5, 0.75, 0.1, 0.9, 0.3, 0.6];
    let k = 0;
    const random = () => rs[k++ % rs.length];
    const { conn, t, client } = setup(random);
    const delays: number[] = [];
    for (let i = 0; i < 9; i++) {
      client().emit('error', new Error('connect ECONNREFUSED'));
      client().emit('close');
      expect(conn.state).toBe('waiting');
      delays.push(t.fireNext());
      expect(conn.state).toBe('connecting');
    }
    const expected = rs.map((r, i) => backoffDelayMs(i, cfg.reconnect, () => r));
    expect(delays).toEqual(expected);
    expect(delays[0]).toBe(1000);
    expect(delays[1]).toBe(2998); // 2000 * (1 + 0.5 * (2 * 0.999 - 1))
    expect(Math.max(...delays)).toBeLessThanOrEqual(60_000);
    expect(client().reconnects).toBe(9);
    expect(conn.counters()).toMatchObject({ attempts: 10, connects: 0, lastError: 'connect ECONNREFUSED' });
    // The Will payload is rebuilt before each attempt.
    expect(String(client().options.will?.payload)).toBe('offline-10');
  });

  it('resubscribes on every CONNACK without a session, and the schedule restarts after a success', () => {
    const { conn, t, client } = setup(() => 0.5);
    conn.subscribe('sensors/+/vibration', 1);
    conn.subscribe('spBv1.0/g/DDATA/+/+', 0);
    client().emit('connect', { sessionPresent: false });
    expect(client().subscribed).toEqual([
      { 'sensors/+/vibration': { qos: 1 }, 'spBv1.0/g/DDATA/+/+': { qos: 0 } },
    ]);
    client().emit('close');
    expect(t.fireNext()).toBe(1000);
    client().emit('close');
    expect(t.fireNext()).toBe(2000);
    client().emit('connect', { sessionPresent: false });
    expect(client().subscribed).toHaveLength(2);
    expect(conn.counters()).toMatchObject({ connects: 2, reconnects: 1, disconnects: 1 });
    client().emit('close');
    expect(t.fireNext()).toBe(1000); // back to the initial delay
    client().emit('connect', { sessionPresent: true });
    expect(client().subscribed).toHaveLength(2); // the broker kept the session
  });

  it('bounds unresolved publishes and resolves/rejects on the client callback', async () => {
    const { conn, client } = setup(() => 0.5);
    const a = conn.publish('t/a', 'x');
    const b = conn.publish('t/b', 'y');
    await expect(conn.publish('t/c', 'z')).rejects.toMatchObject({ code: 'MQTT_BACKPRESSURE' });
    client().publishes[0].cb();
    await a;
    client().publishes[1].cb(new Error('Connection closed'));
    await expect(b).rejects.toMatchObject({ code: 'MQTT_PUBLISH' });
    expect(conn.counters()).toMatchObject({
      publishes: 2,
      publishDropped: 1,
      publishFailures: 1,
      pending: 0,
    });
  });

  it('end() cancels a pending retry and refuses later publishes', async () => {
    const { conn, t, client } = setup(() => 0.5);
    client().emit('close');
    expect(t.pending).toHaveLength(1);
    await conn.end(100);
    expect(t.pending).toHaveLength(0);
    expect(conn.state).toBe('closed');
    await expect(conn.publish('t', 'x')).rejects.toMatchObject({ code: 'MQTT_CLOSED' });
  });
});
