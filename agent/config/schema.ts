// The configuration's JSON Schema. Every default lives here, and only here: ajv fills them in
// (useDefaults), so the rest of the agent reads a complete AgentConfig.
// configs/example.yaml documents each field; docs/config.md is generated from the descriptions.

const assetDefaults = {
  debounce: { n: 3, m: 5 },
  heartbeatSec: 60,
  anomaly: { enabled: true, baselineWindows: 100, openWindows: 3, closeWindows: 5, closeRatio: 0.8 },
};

const inputSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['topic', 'format'],
  properties: {
    topic: {
      type: 'string',
      minLength: 1,
      description: "MQTT topic filter; each '+' segment is captured as {1}, {2}, ... for the asset id",
    },
    format: {
      enum: ['json-single', 'json-multi', 'json-block', 'binary-frame', 'sparkplug', 'text'],
      description: 'payload format (docs/inputs.md)',
    },
    channel: { type: 'string', minLength: 1, description: 'single-value formats: the model channel fed' },
    map: {
      type: 'object',
      additionalProperties: { type: 'string', minLength: 1 },
      description: 'multi-value formats: model channel -> payload key (default: same name)',
    },
  },
} as const;

const assetSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'model', 'inputs'],
  properties: {
    id: { type: 'string', minLength: 1, description: 'asset id or template such as "{1}" or "pump-{2}"' },
    model: { type: 'string', minLength: 1, description: 'a key of models' },
    inputs: { type: 'array', minItems: 1, items: inputSchema },
    hop: { type: 'integer', minimum: 1, description: "samples between window starts (default: the model's)" },
    debounce: {
      type: 'object',
      additionalProperties: false,
      default: assetDefaults.debounce,
      properties: {
        n: { type: 'integer', minimum: 1, default: assetDefaults.debounce.n },
        m: { type: 'integer', minimum: 1, default: assetDefaults.debounce.m },
      },
    },
    heartbeatSec: { type: 'number', exclusiveMinimum: 0, default: assetDefaults.heartbeatSec },
    anomaly: {
      type: 'object',
      additionalProperties: false,
      default: assetDefaults.anomaly,
      properties: {
        enabled: { type: 'boolean', default: assetDefaults.anomaly.enabled },
        baselineWindows: {
          type: 'integer',
          minimum: 1,
          default: assetDefaults.anomaly.baselineWindows,
          description: "windows learned as the asset's normal behaviour after commissioning",
        },
        openWindows: {
          type: 'integer',
          minimum: 1,
          default: assetDefaults.anomaly.openWindows,
          description: 'an event opens after this many consecutive windows above the alarm level',
        },
        closeWindows: {
          type: 'integer',
          minimum: 1,
          default: assetDefaults.anomaly.closeWindows,
          description:
            'off-delay: an event closes after this many consecutive windows below closeRatio x the alarm level (pump assets: 60)',
        },
        closeRatio: {
          type: 'number',
          exclusiveMinimum: 0,
          maximum: 1,
          default: assetDefaults.anomaly.closeRatio,
          description: 'close level as a fraction of the alarm level',
        },
      },
    },
  },
} as const;

export const configSchema = {
  $id: 'https://vigil.dev/schemas/config.json',
  type: 'object',
  additionalProperties: false,
  required: ['deviceId'],
  properties: {
    deviceId: {
      type: 'string',
      pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$',
      description: 'this device, unique in the fleet; part of every topic',
    },
    dataDir: { type: 'string', minLength: 1, default: '/var/lib/vigil' },
    mqtt: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        url: { type: 'string', pattern: '^(mqtts?|tcp|ssl|wss?)://', default: 'mqtt://127.0.0.1:1883' },
        protocolVersion: { enum: [4, 5], default: 5 },
        clientId: { type: 'string', minLength: 1, maxLength: 128 },
        username: { type: 'string' },
        password: { type: 'string' },
        tls: {
          type: 'object',
          additionalProperties: false,
          properties: {
            ca: { type: 'string', description: 'PEM file path' },
            cert: { type: 'string', description: 'PEM file path (mutual TLS)' },
            key: { type: 'string', description: 'PEM file path (mutual TLS)' },
            rejectUnauthorized: { type: 'boolean', default: true },
          },
        },
        keepaliveSec: { type: 'integer', minimum: 5, maximum: 3600, default: 30 },
        qos: { enum: [0, 1], default: 1 },
        topicPrefix: { type: 'string', minLength: 1, default: 'vigil/{deviceId}' },
        reconnect: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            initialDelayMs: { type: 'integer', minimum: 100, default: 1000 },
            maxDelayMs: { type: 'integer', minimum: 1000, default: 60000 },
            jitter: { type: 'number', minimum: 0, maximum: 1, default: 0.5 },
          },
        },
      },
    },
    models: {
      type: 'object',
      default: {},
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['bundle'],
        properties: {
          bundle: { type: 'string', minLength: 1, description: 'model bundle directory' },
          backend: { enum: ['auto', 'native', 'onnx'], default: 'auto' },
          threads: { type: 'integer', minimum: 1, maximum: 16, default: 1 },
        },
      },
    },
    assets: { type: 'array', default: [], items: assetSchema },
    inference: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        queueDepth: { type: 'integer', minimum: 1, maximum: 100000, default: 64 },
        dropPolicy: { enum: ['drop-oldest', 'drop-newest'], default: 'drop-oldest' },
        batchMax: {
          type: 'integer',
          minimum: 1,
          maximum: 256,
          default: 8,
          description: 'most queued windows of one model run as one backend call (docs/backends.md)',
        },
        onnxThread: {
          enum: ['worker', 'main'],
          default: 'worker',
          description: 'where onnxruntime runs: a worker thread per model, or the JS thread',
        },
      },
    },
    health: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: { intervalSec: { type: 'number', minimum: 1, default: 30 } },
    },
    limits: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: { maxPayloadBytes: { type: 'integer', minimum: 64, default: 262144 } },
    },
    errors: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: { maxPerSec: { type: 'number', exclusiveMinimum: 0, default: 5 } },
    },
    log: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: { level: { enum: ['trace', 'debug', 'info', 'warn', 'error', 'fatal'], default: 'info' } },
    },
  },
} as const;
