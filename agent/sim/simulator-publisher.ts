// Publishes simulated machines over MQTT in real time: each asset's vibration as blocks of
// `blockMs` (topic sensors/<asset>/vibration by default) in any input format, and optionally its
// slow process channels (current, temperature) at 1 Hz as json-multi on sensors/<asset>/process.
// Used by `vigil simulate` and the quick-start demo. Clock, timers and the publish function are
// injectable so tests run it with no broker and no sleeps.
//
// Timing: block k holds samples [k*n, (k+1)*n) with t0 = start + k*n/rate (sender time) and is
// published once it is complete in wall time (like a real sensor). A late timer publishes every
// block that fell due; t0 stays on the sample grid, so no gap appears in the stream.
import mqtt, { type MqttClient } from 'mqtt';
import type { PayloadFormat } from '../config/types.js';
import { createLogger } from '../log/logger.js';
import { checkAsset, type SimAsset } from './asset-spec.js';
import {
  encodeBlock,
  encodeSparkplugBirth,
  PER_SAMPLE_FORMATS,
  SIM_FORMATS,
  type EncodeOptions,
} from './encoders.js';
import { checkRange, SimError } from './faults.js';
import { createPrng } from './prng.js';
import { createSlowChannelSource, type SlowChannelSource } from './slow-channel-source.js';
import { createVibrationSource, type VibrationAxis, type VibrationSource } from './vibration-source.js';

export type PublishFn = (topic: string, payload: Uint8Array) => void | Promise<void>;

export interface SimTimers {
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

export interface SimulatorOptions {
  assets: { id: string; fault: string; severity?: number; rpm?: number }[];
  /** one of: a broker URL (the simulator owns its connection), an MQTT.js client, a publish fn */
  brokerUrl?: string;
  client?: Pick<MqttClient, 'publish'>;
  publish?: PublishFn;
  format?: PayloadFormat;
  sampleRateHz?: number;
  blockMs?: number;
  seed?: number;
  /** stop after this much simulated time; default: run until stop() */
  durationSec?: number;
  /** '{asset}' is replaced by the asset id */
  topicTemplate?: string;
  axes?: VibrationAxis[];
  /** channel name per axis in payloads that name channels; default radial 'accel', axial 'axial' */
  channelNames?: Partial<Record<VibrationAxis, string>>;
  /** also publish current + temperature at 1 Hz (json-multi) on slowTopicTemplate */
  slowChannels?: boolean;
  slowTopicTemplate?: string;
  encode?: EncodeOptions;
  clock?: () => number;
  timers?: SimTimers;
}

export interface SimulatorStats {
  blocks: number;
  messages: number;
  bytes: number;
  samples: number;
  publishErrors: number;
}

export interface Simulator {
  readonly assets: readonly (SimAsset & { seed: number })[];
  /** publishes whatever fell due (the timer calls it; tests call it directly) */
  tick(): void;
  stats(): SimulatorStats;
  /** resolves when durationSec of data has been published (never without durationSec) */
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

export const DEFAULT_TOPIC = 'sensors/{asset}/vibration';
export const DEFAULT_SPARKPLUG_TOPIC = 'spBv1.0/vigil/DDATA/sim/{asset}';
export const DEFAULT_SLOW_TOPIC = 'sensors/{asset}/process';
/** per-sample formats and Sparkplug (whole-ms timestamps) are limited to this rate */
export const MAX_LOW_RATE_HZ = 1000;

const nodeTimers: SimTimers = {
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (h) => clearInterval(h as NodeJS.Timeout),
};

interface AssetState {
  asset: SimAsset & { seed: number };
  topic: string;
  vib: VibrationSource;
  slow?: SlowChannelSource;
  slowTopic: string;
}

export function startSimulator(options: SimulatorOptions): Simulator {
  const log = createLogger('sim');
  const format = options.format ?? 'json-block';
  if (!SIM_FORMATS.includes(format)) {
    throw new SimError(
      'SIM_INVALID_OPTION',
      `Expected format one of ${SIM_FORMATS.join(', ')} but received ${String(format)}`,
    );
  }
  const rate = options.sampleRateHz ?? 8192;
  checkRange('sampleRateHz', rate, 1, 200000);
  if ((PER_SAMPLE_FORMATS.has(format) || format === 'sparkplug') && rate > MAX_LOW_RATE_HZ) {
    throw new SimError(
      'SIM_INVALID_OPTION',
      `Expected sampleRateHz <= ${MAX_LOW_RATE_HZ} for format ${format} (${format === 'sparkplug' ? 'whole-ms timestamps' : 'one message per sample'}) but received ${rate}`,
    );
  }
  const blockMs = options.blockMs ?? 250;
  checkRange('blockMs', blockMs, 1, 60000);
  const blockSamples = Math.max(1, Math.round((blockMs * rate) / 1000));
  const seed = options.seed ?? 1;
  if (!Number.isInteger(seed))
    throw new SimError('SIM_INVALID_OPTION', `Expected integer for seed but received ${seed}`);
  if (options.durationSec !== undefined) checkRange('durationSec', options.durationSec, 0, 1e9);
  const axes = options.axes ?? ['radial'];
  const names = axes.map((a) => options.channelNames?.[a] ?? (a === 'radial' ? 'accel' : 'axial'));
  const template =
    options.topicTemplate ?? (format === 'sparkplug' ? DEFAULT_SPARKPLUG_TOPIC : DEFAULT_TOPIC);
  const slowTemplate = options.slowTopicTemplate ?? DEFAULT_SLOW_TOPIC;
  if (options.assets.length === 0)
    throw new SimError('SIM_INVALID_OPTION', 'Expected at least one asset but received none');
  const seen = new Set<string>();
  const seeder = createPrng(seed);
  const states: AssetState[] = options.assets.map((raw) => {
    const a = checkAsset(raw);
    if (seen.has(a.id))
      throw new SimError('SIM_INVALID_SPEC', `Expected unique asset ids but received "${a.id}" twice`);
    seen.add(a.id);
    // Per-asset seed from the run seed and the id: adding an asset leaves the others unchanged.
    const assetSeed = seeder.fork(`asset:${a.id}`).int(0, 0x7fffffff);
    return {
      asset: { ...a, seed: assetSeed },
      topic: template.replaceAll('{asset}', a.id),
      vib: createVibrationSource({
        seed: assetSeed,
        fault: a.fault,
        severity: a.severity,
        rpm: a.rpm,
        sampleRateHz: rate,
        axes,
      }),
      slow: options.slowChannels
        ? createSlowChannelSource({ seed: assetSeed, fault: a.fault, severity: a.severity })
        : undefined,
      slowTopic: slowTemplate.replaceAll('{asset}', a.id),
    };
  });

  let owned: MqttClient | undefined;
  let publish: PublishFn;
  if (options.publish) publish = options.publish;
  else if (options.client) {
    const client = options.client;
    publish = (topic, payload) => {
      client.publish(topic, Buffer.from(payload), { qos: 0 }, (err) => {
        if (err) onPublishError(err, topic);
      });
    };
  } else if (options.brokerUrl) {
    owned = mqtt.connect(options.brokerUrl, {
      clientId: `vigil-sim-${process.pid}-${seed}`,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      // Offline, drop blocks instead of queueing them without bound (live data, not a backlog).
      queueQoSZero: false,
    });
    owned.on('error', (err) => log.warn({ err: err.message }, 'broker connection error'));
    const client = owned;
    publish = (topic, payload) => {
      client.publish(topic, Buffer.from(payload), { qos: 0 }, (err) => {
        if (err) onPublishError(err, topic);
      });
    };
  } else {
    throw new SimError(
      'SIM_INVALID_OPTION',
      'Expected one of brokerUrl, client or publish but received none',
    );
  }

  const clock = options.clock ?? Date.now;
  const timers = options.timers ?? nodeTimers;
  const startMs = clock();
  const totalBlocks =
    options.durationSec === undefined ? Infinity : Math.ceil((options.durationSec * rate) / blockSamples);
  const stats: SimulatorStats = { blocks: 0, messages: 0, bytes: 0, samples: 0, publishErrors: 0 };
  let blocksDone = 0;
  let slowDone = 0;
  let stopped = false;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));

  function onPublishError(err: unknown, topic: string): void {
    stats.publishErrors++;
    // one line per power of two: visible without flooding the log
    if ((stats.publishErrors & (stats.publishErrors - 1)) === 0) {
      log.warn({ err: (err as Error).message, topic, publishErrors: stats.publishErrors }, 'publish failed');
    }
  }

  function send(topic: string, payload: Uint8Array): void {
    stats.messages++;
    stats.bytes += payload.byteLength;
    try {
      const p = publish(topic, payload);
      if (p && typeof (p as Promise<void>).catch === 'function')
        (p as Promise<void>).catch((e: unknown) => onPublishError(e, topic));
    } catch (err) {
      onPublishError(err, topic);
    }
  }

  if (format === 'sparkplug') {
    send('spBv1.0/vigil/NBIRTH/sim', encodeSparkplugBirth([], startMs));
    for (const s of states)
      send(s.topic.replace('/DDATA/', '/DBIRTH/'), encodeSparkplugBirth(names, startMs));
  }

  function tick(): void {
    if (stopped) return;
    const now = clock();
    const due = Math.min(totalBlocks, Math.floor(((now - startMs) * rate) / 1000 / blockSamples));
    for (; blocksDone < due; blocksDone++) {
      const t0Ms = startMs + (blocksDone * blockSamples * 1000) / rate;
      for (const s of states) {
        const samples = s.vib.next(blockSamples);
        for (const payload of encodeBlock(
          format,
          { t0Ms, rateHz: rate, channels: names, samples },
          options.encode,
        )) {
          send(s.topic, payload);
        }
        stats.samples += blockSamples;
      }
      stats.blocks++;
    }
    if (options.slowChannels) {
      const simulatedMs = Math.min(now - startMs, (totalBlocks * blockSamples * 1000) / rate);
      const slowDue = Math.floor(simulatedMs / 1000);
      for (; slowDone < slowDue; slowDone++) {
        for (const s of states) {
          const x = s.slow!.next(1);
          const block = {
            t0Ms: startMs + slowDone * 1000,
            rateHz: 1,
            channels: s.slow!.channels,
            samples: x,
          };
          for (const payload of encodeBlock('json-multi', block)) send(s.slowTopic, payload);
        }
      }
    }
    if (blocksDone >= totalBlocks) {
      timers.clearInterval(handle);
      resolveDone();
    }
  }

  const handle = timers.setInterval(tick, Math.max(1, Math.min(blockMs, 1000)));

  return {
    assets: states.map((s) => s.asset),
    tick,
    stats: () => ({ ...stats }),
    done,
    async stop() {
      if (stopped) return;
      stopped = true;
      timers.clearInterval(handle);
      resolveDone();
      if (owned) await owned.endAsync();
    },
  };
}
