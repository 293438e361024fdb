// A subscriber that records every message on some topic filters, for integration tests.
import mqtt, { type MqttClient } from 'mqtt';

export interface Collected {
  topic: string;
  payload: Buffer;
  retain: boolean;
  /** JSON.parse of the payload, or undefined when it is not JSON. */
  json: unknown;
  at: number;
}

export interface Collector {
  client: MqttClient;
  messages: Collected[];
  on(topicPrefix: string): Collected[];
  /** Resolves with the first (already or later) message matching, rejects after timeoutMs. */
  waitFor(pred: (m: Collected) => boolean, timeoutMs?: number, what?: string): Promise<Collected>;
  close(): Promise<void>;
}

export async function collect(
  url: string,
  filters: string[],
  opts: { protocolVersion?: 4 | 5 } = {},
): Promise<Collector> {
  const client = await mqtt.connectAsync(url, {
    reconnectPeriod: 0,
    protocolVersion: opts.protocolVersion ?? 4,
    clientId: `vigil-test-sub-${process.pid}-${Math.random().toString(16).slice(2, 8)}`,
  });
  const messages: Collected[] = [];
  const waiters: { pred: (m: Collected) => boolean; resolve: (m: Collected) => void }[] = [];
  client.on('message', (topic, payload, packet) => {
    let json: unknown;
    try {
      json = JSON.parse(payload.toString('utf8'));
    } catch {
      json = undefined; // not JSON: tests look at the raw payload
    }
    const m: Collected = { topic, payload, retain: packet.retain, json, at: Date.now() };
    messages.push(m);
    for (const w of [...waiters]) {
      if (w.pred(m)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  });
  await client.subscribeAsync(
    filters
      .map((f) => ({ topic: f, qos: 1 as const }))
      .reduce<Record<string, { qos: 1 }>>((a, s) => ({ ...a, [s.topic]: { qos: 1 } }), {}),
  );
  return {
    client,
    messages,
    on: (prefix) => messages.filter((m) => m.topic.startsWith(prefix)),
    waitFor: (pred, timeoutMs = 10_000, what = 'a matching message') =>
      new Promise((resolve, reject) => {
        const hit = messages.find(pred);
        if (hit) return resolve(hit);
        const w = {
          pred,
          resolve: (m: Collected) => {
            clearTimeout(t);
            resolve(m);
          },
        };
        const t = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(
            new Error(
              `timed out after ${timeoutMs} ms waiting for ${what}; got ${messages.length} messages: ${messages
                .slice(-5)
                .map((m) => `${m.topic} ${m.payload.toString().slice(0, 160)}`)
                .join(' | ')}`,
            ),
          );
        }, timeoutMs);
        waiters.push(w);
      }),
    close: async () => {
      await client.endAsync(true);
    },
  };
}
