// Feeds simulated machines into a broker as fast as the pipeline takes them: the simulator runs
// on a fake clock (sender time advances block by block), the publisher waits for each PUBACK.
import mqtt from 'mqtt';
import type { PayloadFormat } from '../../agent/config/types.js';
import { startSimulator } from '../../agent/sim/simulator-publisher.js';

export interface FeedOptions {
  url: string;
  assets: { id: string; fault: string; severity?: number; rpm?: number }[];
  format: PayloadFormat;
  sampleRateHz: number;
  /** Simulated seconds to send. */
  seconds: number;
  blockMs?: number;
  topicTemplate?: string;
  seed?: number;
  startMs?: number;
  encode?: { sampleType?: 'float32' | 'int16' };
  channelNames?: { radial?: string; axial?: string };
}

export async function feedSimulated(o: FeedOptions): Promise<{ messages: number }> {
  const client = await mqtt.connectAsync(o.url, {
    reconnectPeriod: 0,
    clientId: `vigil-test-feed-${process.pid}-${Math.random().toString(16).slice(2, 8)}`,
  });
  let now = o.startMs ?? 1_763_856_000_000;
  const inflight: Promise<unknown>[] = [];
  const sim = startSimulator({
    assets: o.assets,
    publish: (topic, payload) => {
      inflight.push(client.publishAsync(topic, Buffer.from(payload), { qos: 1 }));
    },
    format: o.format,
    sampleRateHz: o.sampleRateHz,
    blockMs: o.blockMs ?? 250,
    seed: o.seed ?? 7,
    topicTemplate: o.topicTemplate,
    channelNames: o.channelNames,
    encode: o.encode,
    clock: () => now,
    timers: { setInterval: () => 0, clearInterval: () => undefined },
  });
  const stepMs = o.blockMs ?? 250;
  for (let t = 0; t < o.seconds * 1000; t += stepMs) {
    now += stepMs;
    sim.tick();
    await Promise.all(inflight.splice(0));
  }
  const { messages } = sim.stats();
  await sim.stop();
  await client.endAsync();
  return { messages };
}
