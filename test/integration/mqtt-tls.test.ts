// TLS and mutual TLS against a real mosquitto with throw-away certificates.
import '../helpers/quiet-logs.js';
import { afterEach, describe, expect, it } from 'vitest';
import type { MqttConfig } from '../../agent/config/types.js';
import { MqttConnection } from '../../agent/mqtt/connection.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { makeTestCerts } from '../helpers/tls-certs.js';

const certs = makeTestCerts();
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

function cfg(url: string, tls: MqttConfig['tls']): MqttConfig {
  return {
    url,
    protocolVersion: 5,
    keepaliveSec: 5,
    qos: 1,
    topicPrefix: 'vigil/t',
    reconnect: { initialDelayMs: 100, maxDelayMs: 300, jitter: 0 },
    tls,
  };
}

async function until(pred: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (pred()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return pred();
}

describe('MQTT over TLS', () => {
  it('mutual TLS: connects with the client certificate, is refused without one', async () => {
    const broker = await startMosquitto({
      extraConfig: [
        `cafile ${certs.ca}`,
        `certfile ${certs.serverCert}`,
        `keyfile ${certs.serverKey}`,
        'require_certificate true',
        'use_identity_as_username true',
      ].join('\n'),
    });
    cleanups.push(() => broker.stop());
    const url = `mqtts://127.0.0.1:${broker.port}`;
    const good = new MqttConnection({
      config: cfg(url, {
        ca: certs.ca,
        cert: certs.clientCert,
        key: certs.clientKey,
        rejectUnauthorized: true,
      }),
      clientId: 'mtls-ok',
    });
    cleanups.push(() => good.end(200));
    good.start();
    expect(await until(() => good.connected, 5000)).toBe(true);
    await good.publish('vigil/t/x', 'over mTLS', { qos: 1 });

    const noCert = new MqttConnection({
      config: cfg(url, { ca: certs.ca, rejectUnauthorized: true }),
      clientId: 'mtls-no-cert',
    });
    cleanups.push(() => noCert.end(200));
    noCert.start();
    expect(await until(() => noCert.counters().attempts >= 3, 5000)).toBe(true);
    expect(noCert.counters().connects).toBe(0);
  });

  it('server TLS: an unknown CA is rejected, the right CA connects', async () => {
    const broker = await startMosquitto({
      extraConfig: [`certfile ${certs.serverCert}`, `keyfile ${certs.serverKey}`].join('\n'),
    });
    cleanups.push(() => broker.stop());
    const url = `mqtts://127.0.0.1:${broker.port}`;
    const wrongCa = new MqttConnection({
      config: cfg(url, { rejectUnauthorized: true }),
      clientId: 'tls-wrong-ca',
    });
    cleanups.push(() => wrongCa.end(200));
    wrongCa.start();
    expect(await until(() => wrongCa.counters().attempts >= 2, 5000)).toBe(true);
    expect(wrongCa.counters().connects).toBe(0);
    expect(wrongCa.counters().lastError).toMatch(/certificate/i);
    const ok = new MqttConnection({
      config: cfg(url, { ca: certs.ca, rejectUnauthorized: true }),
      clientId: 'tls-ok',
    });
    cleanups.push(() => ok.end(200));
    ok.start();
    expect(await until(() => ok.connected, 5000)).toBe(true);
  });

  it('a missing certificate file is one coded error at start', () => {
    const c = new MqttConnection({
      config: cfg('mqtts://127.0.0.1:1', { ca: '/nonexistent/ca.pem', rejectUnauthorized: true }),
      clientId: 'x',
    });
    expect(() => c.start()).toThrow(
      expect.objectContaining({ code: 'MQTT_TLS_FILE', message: expect.stringMatching(/mqtt\.tls\.ca/) }),
    );
  });
});
