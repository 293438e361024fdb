import { afterEach, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../agent/demo/embedded-broker.js';

describe('embedded broker', () => {
  let broker: EmbeddedBroker | undefined;
  afterEach(async () => {
    await broker?.close();
    broker = undefined;
  });

  it('routes a QoS 1 message between two clients on loopback', async () => {
    broker = await startEmbeddedBroker(0);
    expect(broker.url).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/);
    const sub = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    const pub = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    await sub.subscribeAsync('a/#', { qos: 1 });
    const got = new Promise<string>((resolve) =>
      sub.on('message', (t, p) => resolve(`${t}=${p.toString()}`)),
    );
    await pub.publishAsync('a/b', 'hi', { qos: 1 });
    expect(await got).toBe('a/b=hi');
    await Promise.all([sub.endAsync(), pub.endAsync()]);
  });

  it('fails with BROKER_LISTEN when the port is taken', async () => {
    broker = await startEmbeddedBroker(0);
    await expect(startEmbeddedBroker(broker.port)).rejects.toMatchObject({ code: 'BROKER_LISTEN' });
  });
});
