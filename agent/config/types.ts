// The agent's configuration, after validation and defaults (agent/config/schema.ts holds the
// JSON Schema and every default; configs/example.yaml documents each field).

export type PayloadFormat =
  | 'json-single' // {"ts": ms, "value": x}
  | 'json-multi' // {"ts": ms, "values": {"name": x, ...}}
  | 'json-block' // {"t0": ms, "rateHz": r, "values": [..]} or {"values": {"name": [..]}}
  | 'binary-frame' // docs/binary-frame.md
  | 'sparkplug' // Sparkplug B DDATA/NDATA protobuf
  | 'text'; // "0.0123"

export interface InputConfig {
  /** MQTT topic filter; '+' segments are captured as {1}, {2}, ... for the asset id template. */
  topic: string;
  format: PayloadFormat;
  /** For single-value formats: the model channel the values feed. */
  channel?: string;
  /** For multi-value formats: model channel -> payload key (default: same name). */
  map?: Record<string, string>;
}

export interface AssetConfig {
  /** Asset id or template, e.g. "{1}" or "pump-{2}". */
  id: string;
  model: string; // key into models
  inputs: InputConfig[];
  /** Samples between window starts; default: the model's hop. */
  hop?: number;
  debounce: { n: number; m: number };
  heartbeatSec: number;
  anomaly: {
    enabled: boolean;
    /** Windows learned as the site's normal behaviour after commissioning. */
    baselineWindows: number;
    /** Open above threshold for openWindows windows, close below closeRatio*threshold for closeWindows. */
    openWindows: number;
    /** The event's off-delay in windows (closeWindows x hop / sampleRateHz seconds; pump assets 60). */
    closeWindows: number;
    closeRatio: number;
  };
}

export interface ModelConfig {
  bundle: string; // directory
  backend: 'auto' | 'native' | 'onnx';
  threads: number;
}

export interface MqttConfig {
  url: string;
  protocolVersion: 4 | 5;
  clientId?: string;
  username?: string;
  password?: string;
  tls?: { ca?: string; cert?: string; key?: string; rejectUnauthorized: boolean };
  keepaliveSec: number;
  qos: 0 | 1;
  topicPrefix: string; // "vigil/{deviceId}"
  reconnect: { initialDelayMs: number; maxDelayMs: number; jitter: number };
}

export interface AgentConfig {
  deviceId: string;
  dataDir: string;
  mqtt: MqttConfig;
  models: Record<string, ModelConfig>;
  assets: AssetConfig[];
  inference: {
    queueDepth: number;
    dropPolicy: 'drop-oldest' | 'drop-newest';
    /** Most queued windows of one model per backend call (default 8). */
    batchMax: number;
    /** Where onnxruntime runs (default 'worker'). */
    onnxThread: 'worker' | 'main';
  };
  health: { intervalSec: number };
  limits: { maxPayloadBytes: number };
  errors: { maxPerSec: number };
  log: { level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' };
}
