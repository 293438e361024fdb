import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { ConfigError, completeConfig, loadConfigFile, parseConfig } from '../../agent/config/load.js';

const base = { baseDir: '/etc/vigil' };

function issuesOf(fn: () => unknown) {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues;
  }
  throw new Error('expected a ConfigError');
}

describe('config', () => {
  it('loads the fully commented example', () => {
    const cfg = loadConfigFile('configs/example.yaml');
    expect(cfg.deviceId).toBe('gw-01');
    expect(cfg.mqtt.topicPrefix).toBe('vigil/gw-01');
    expect(cfg.assets).toHaveLength(2);
    expect(cfg.assets[1].anomaly.baselineWindows).toBe(400);
    expect(cfg.models['rotating-vib'].bundle).toBe(path.resolve('models/rotating-vib'));
  });

  it('fills every default from the schema', () => {
    const cfg = completeConfig(
      {
        deviceId: 'd1',
        models: { m: { bundle: 'b' } },
        assets: [{ id: '{1}', model: 'm', inputs: [{ topic: 'a/+/b', format: 'json-block' }] }],
      },
      base,
    );
    expect(cfg.mqtt).toMatchObject({
      url: 'mqtt://127.0.0.1:1883',
      protocolVersion: 5,
      keepaliveSec: 30,
      qos: 1,
      topicPrefix: 'vigil/d1',
      reconnect: { initialDelayMs: 1000, maxDelayMs: 60000, jitter: 0.5 },
    });
    expect(cfg.assets[0].debounce).toEqual({ n: 3, m: 5 });
    expect(cfg.assets[0].anomaly.enabled).toBe(true);
    expect(cfg.models.m).toEqual({ bundle: '/etc/vigil/b', backend: 'auto', threads: 1 });
    expect(cfg.inference).toEqual({
      queueDepth: 64,
      dropPolicy: 'drop-oldest',
      batchMax: 8,
      onnxThread: 'worker',
    });
    expect(cfg.dataDir).toBe('/var/lib/vigil');
  });

  it('names the field, the expected and the received value on a wrong type', () => {
    const issues = issuesOf(() => parseConfig('deviceId: d1\nmqtt:\n  keepaliveSec: "thirty"\n', base));
    expect(issues).toContainEqual({
      field: 'mqtt.keepaliveSec',
      expected: 'a value of type integer',
      received: '"thirty" of type string',
    });
  });

  it('reports every problem at once, including unknown keys and bad enums', () => {
    const issues = issuesOf(() =>
      parseConfig(
        'deviceId: "bad id!"\nmqtt:\n  qos: 2\n  keepalive: 10\nassets:\n  - id: x\n    model: m\n    inputs: [{topic: t, format: xml}]\n',
        base,
      ),
    );
    const fields = issues.map((i) => i.field);
    expect(fields).toEqual(
      expect.arrayContaining(['deviceId', 'mqtt.qos', 'mqtt.keepalive', 'assets[0].inputs[0].format']),
    );
    expect(issues.find((i) => i.field === 'mqtt.qos')?.expected).toBe('one of 0, 1');
  });

  it('cross-checks model references, debounce and id captures', () => {
    const issues = issuesOf(() =>
      completeConfig(
        {
          deviceId: 'd1',
          models: { m: { bundle: 'b' } },
          assets: [
            {
              id: 'pump-{2}',
              model: 'nope',
              debounce: { n: 4, m: 2 },
              inputs: [{ topic: 'a/+/b', format: 'text' }],
            },
          ],
        },
        base,
      ),
    );
    expect(issues.map((i) => i.field)).toEqual(['assets[0].model', 'assets[0].debounce.n', 'assets[0].id']);
  });

  it('applies broker and device overrides over the file', () => {
    const cfg = parseConfig('deviceId: d1\nmqtt: {url: "mqtt://a:1"}\n', {
      ...base,
      overrides: { brokerUrl: 'mqtt://b:2', deviceId: 'd2' },
    });
    expect(cfg.mqtt.url).toBe('mqtt://b:2');
    expect(cfg.deviceId).toBe('d2');
    expect(cfg.mqtt.topicPrefix).toBe('vigil/d2');
  });

  it('rejects YAML syntax errors and duplicate keys with CONFIG_PARSE', () => {
    expect(() => parseConfig('deviceId: a\ndeviceId: b\n', base)).toThrow(
      expect.objectContaining({ code: 'CONFIG_PARSE' }),
    );
    expect(() => parseConfig('deviceId: [\n', base)).toThrow(
      expect.objectContaining({ code: 'CONFIG_PARSE' }),
    );
  });

  it('rejects a non-mapping document', () => {
    expect(() => parseConfig('- 1\n- 2\n', base)).toThrow(ConfigError);
  });
});

describe('config schema document', () => {
  it('docs/schemas/config.schema.json is the schema the agent validates with', async () => {
    const { readFileSync } = await import('node:fs');
    const { configSchema } = await import('../../agent/config/schema.js');
    const doc = JSON.parse(readFileSync('docs/schemas/config.schema.json', 'utf8')) as Record<
      string,
      unknown
    >;
    const { $schema, ...rest } = doc;
    expect($schema).toBe('http://json-schema.org/draft-07/schema#');
    // after a schema change: vigil config schema > docs/schemas/config.schema.json
    expect(rest).toEqual(JSON.parse(JSON.stringify(configSchema)));
  });
});
