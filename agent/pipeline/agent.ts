// startAgent: the running agent. Wiring only: models (bundle -> backend -> queue), assets (topic
// captures -> window assembler -> diagnosis/anomaly), the MQTT connection, reports, health,
// watchdog and the stop sequence. Each piece lives in its own module.
//
// Lifecycle:
//   start: open every model (a bad bundle is fatal: one actionable error), start the connection
//          (works with the broker down: it connects when it appears), status `online` (retained)
//          on every CONNACK, READY=1.
//   stop:  intake stops (messages still arriving are ignored), STOPPING=1 and status `stopping`
//          (retained), queued windows are drained and their reports published, status `offline`
//          (retained, clean: no `will` flag), DISCONNECT, backends disposed.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { AgentConfig, AssetConfig, InputConfig } from '../config/types.js';
import { createSystemProbe, type SystemProbe } from '../health/system-probe.js';
import { createNotifier, type SdNotifyFn } from '../health/sd-notify.js';
import { Watchdog, watchdogMsFromEnv } from '../health/watchdog.js';
import type { AddonModule } from '../inference/native-backend.js';
import { bindChannels } from '../ingest/bind-channels.js';
import { decodePayload } from '../ingest/codecs/index.js';
import { DEFAULT_MAX_SAMPLES } from '../ingest/decoded.js';
import { TopicRouter } from '../ingest/topic-match.js';
import { createLogger, type Logger } from '../log/logger.js';
import { MqttConnection, realTimers, type ConnectionCounters, type Timers } from '../mqtt/connection.js';
import { buildAnomaly } from '../reports/anomaly.js';
import { buildDiagnosis } from '../reports/diagnosis.js';
import { ErrorReporter } from '../reports/errors.js';
import { buildHealth, type HealthMessage, type InputHealth } from '../reports/health.js';
import { ReportContext } from '../reports/report-context.js';
import { buildStatus, type AgentState, type StatusModel } from '../reports/status.js';
import { reportTopics } from '../reports/topics.js';
import { VERSION } from '../version.js';
import { AssetRuntime } from './asset-runtime.js';
import { AnomalyMonitor } from './anomaly-monitor.js';
import type { ModelRuntime } from './model-runtime.js';
import { openModels } from './open-models.js';
import { SparkplugAliases } from './sparkplug-aliases.js';

export interface AgentDeps {
  /** ms since the epoch; default Date.now. */
  clock?: () => number;
  timers?: Timers;
  random?: () => number;
  logger?: Logger;
  /** The native addon; undefined: load it (probed); null: run without it (ORT only, no sd_notify). */
  addon?: AddonModule | null;
  /** systemd notifications; default the addon's sdNotify. */
  sdNotify?: SdNotifyFn | null;
  /** WatchdogSec in ms; default from WATCHDOG_USEC. */
  watchdogMs?: number | null;
  systemProbe?: SystemProbe;
  /** Longest wait for queued windows at stop(). Default 10 s. */
  drainTimeoutMs?: number;
  /** Most distinct asset ids one configured asset (template) may resolve to. Default 1000. */
  maxAssetsPerTemplate?: number;
}

export interface AgentStats {
  bootId: string;
  state: 'running' | 'stopping' | 'stopped';
  connection: ConnectionCounters;
  health: () => Promise<HealthMessage>;
  assets: Record<string, ReturnType<AssetRuntime['health']>>;
  models: Record<string, ReturnType<ModelRuntime['health']>>;
  inputs: Record<string, InputHealth>;
  errors: ReturnType<ErrorReporter['counters']>;
}

export interface RunningAgent {
  readonly bootId: string;
  readonly deviceId: string;
  stop(): Promise<void>;
  stats(): AgentStats;
  /** Build and publish a health message now (also runs every health.intervalSec). */
  publishHealth(): Promise<HealthMessage>;
  /** Resolves when the connection is up (tests, the CLI's --wait). */
  connection: MqttConnection;
}

interface InputRuntime {
  key: string;
  asset: AssetConfig;
  assetIndex: number;
  input: InputConfig;
  model: ModelRuntime;
  stats: InputHealth;
}

export { AgentError } from './open-models.js';

export async function startAgent(config: AgentConfig, deps: AgentDeps = {}): Promise<RunningAgent> {
  const now = deps.clock ?? Date.now;
  const timers = deps.timers ?? realTimers;
  const log = deps.logger ?? createLogger('agent');
  const startedAt = now();
  const ctx = new ReportContext(config.deviceId, undefined, now);
  const topics = reportTopics(config.mqtt.topicPrefix);
  const errors = new ErrorReporter(ctx, config.errors.maxPerSec, now);
  const maxAssets = deps.maxAssetsPerTemplate ?? 1000;

  // --- state directory -------------------------------------------------------------------------
  const baselineDir = path.join(config.dataDir, 'baselines');
  let baselineOk = true;
  try {
    mkdirSync(baselineDir, { recursive: true });
  } catch (err) {
    baselineOk = false;
    // Not fatal: diagnosis works without it; baselines are then relearned after each restart.
    log.error({ err: (err as Error).message, dir: baselineDir }, 'cannot create the baseline directory');
  }

  // --- addon and models ------------------------------------------------------------------------
  const watchdogRef: { wd: Watchdog | null } = { wd: null };
  const opened = await openModels(config, {
    addon: deps.addon,
    now,
    log,
    onProgress: () => watchdogRef.wd?.progress(),
  });
  const { addon } = opened;
  const models = opened.models;

  // --- inputs and routing ----------------------------------------------------------------------
  const router = new TopicRouter<InputRuntime>();
  const inputs: InputRuntime[] = [];
  config.assets.forEach((asset, ai) => {
    const model = models.get(asset.model) as ModelRuntime;
    asset.inputs.forEach((input) => {
      let key = input.topic;
      for (let n = 2; inputs.some((x) => x.key === key); n++) key = `${input.topic}#${n}`;
      const rt: InputRuntime = {
        key,
        asset,
        assetIndex: ai,
        input,
        model,
        stats: { format: input.format, messages: 0, samples: 0, rejected: 0, rejectedByReason: {} },
      };
      inputs.push(rt);
      router.add(input.topic, asset.id, rt);
    });
  });
  const sparkplugAliases = new SparkplugAliases();

  // --- assets (created on their first message) ---------------------------------------------------
  const assets = new Map<string, AssetRuntime>();
  const perTemplate = new Map<number, number>();
  const conn = new MqttConnection({
    config: config.mqtt,
    clientId: config.mqtt.clientId ?? `vigil-${config.deviceId}`,
    will: { topic: topics.status, payload: () => JSON.stringify(statusMessage('offline', true)) },
    timers,
    random: deps.random,
  });

  const publishJson = (topic: string, msg: unknown, retain = false): Promise<void> =>
    conn
      .publish(topic, JSON.stringify(msg), { qos: config.mqtt.qos, retain })
      .catch((err: Error & { code?: string }) => {
        log.warn({ topic, code: err.code, err: err.message }, 'publish failed');
      });

  const reportError = (code: string, message: string, extra: { topic?: string; asset?: string } = {}) => {
    const m = errors.report({ code, message, ...extra });
    if (m) void publishJson(topics.errors, m);
  };

  const assetFor = (rt: InputRuntime, assetId: string): AssetRuntime | null => {
    const existing = assets.get(assetId);
    if (existing) {
      if (existing.config !== rt.asset) {
        reportError(
          'INGEST_ASSET_CONFLICT',
          `asset id ${assetId} resolved by two configured assets (${existing.config.id}, ${rt.asset.id}); the first one keeps it`,
          { asset: assetId },
        );
        return null;
      }
      return existing;
    }
    const count = perTemplate.get(rt.assetIndex) ?? 0;
    if (count >= maxAssets) {
      reportError(
        'INGEST_TOO_MANY_ASSETS',
        `asset ${rt.asset.id} already resolved to ${count} ids (at most ${maxAssets}); ${assetId} ignored`,
        { asset: assetId },
      );
      return null;
    }
    perTemplate.set(rt.assetIndex, count + 1);
    const model = rt.model;
    const scorer = rt.asset.anomaly.enabled
      ? new AnomalyMonitor({
          assetId,
          modelId: model.id,
          manifest: model.manifest,
          hop: rt.asset.hop ?? model.manifest.input.hop,
          baselineWindows: rt.asset.anomaly.baselineWindows,
          dir: baselineOk ? baselineDir : null,
          run: (u) => model.backend.run(u),
          log,
        })
      : null;
    const a = new AssetRuntime(
      assetId,
      rt.asset,
      rt.model,
      scorer,
      {
        diagnosis: (d) => void publishJson(topics.diagnosis(assetId), buildDiagnosis(ctx, d)),
        error: (code, message) => reportError(code, message, { asset: assetId }),
      },
      now,
      (an) => {
        const msg = buildAnomaly(ctx, an);
        void publishJson(topics.anomaly(assetId), msg);
        return msg.seq;
      },
    );
    assets.set(assetId, a);
    log.info({ asset: assetId, model: rt.model.id }, 'asset discovered');
    return a;
  };

  let state: 'running' | 'stopping' | 'stopped' = 'running';

  const onMessage = (topic: string, payload: Buffer) => {
    if (state !== 'running') return;
    if (SparkplugAliases.isBirth(topic)) {
      try {
        sparkplugAliases.learn(topic, payload);
      } catch (err) {
        const e = err as Error & { code?: string };
        reportError(e.code ?? 'PAYLOAD_INVALID', `bad Sparkplug BIRTH: ${e.message}`, { topic });
      }
      return;
    }
    let routes;
    try {
      routes = router.route(topic);
    } catch (err) {
      reportError((err as { code?: string }).code ?? 'INGEST_INVALID', (err as Error).message, { topic });
      return;
    }
    for (const { value: rt, assetId } of routes) {
      rt.stats.messages++;
      const asset = assetFor(rt, assetId);
      if (!asset) {
        reject(rt, 'INGEST_ASSET_REFUSED', null);
        continue;
      }
      try {
        const decoded = decodePayload(rt.input.format, payload, {
          maxPayloadBytes: config.limits.maxPayloadBytes,
          maxSamples: DEFAULT_MAX_SAMPLES,
          channelNames: rt.model.manifest.input.channels,
          sparkplugAliases: rt.input.format === 'sparkplug' ? sparkplugAliases.forTopic(topic) : undefined,
        });
        const bound = bindChannels(decoded, rt.input, rt.model.manifest.input.channels);
        const before = asset.assembler.counters().rateMismatch;
        const windows = asset.assembler.push(bound.channels, { expected: bound.expected });
        for (const ch of bound.channels.values()) rt.stats.samples += ch.values.length;
        if (asset.assembler.counters().rateMismatch > before) {
          reject(rt, 'PAYLOAD_RATE_MISMATCH', {
            message: `Expected blocks at ${rt.model.manifest.input.sampleRateHz} Hz (model ${rt.model.id}) for rateHz but received another rate`,
            topic,
            asset: assetId,
          });
        }
        for (const w of windows) asset.enqueue(w);
        watchdogRef.wd?.progress();
      } catch (err) {
        const e = err as Error & { code?: string };
        reject(rt, e.code ?? 'PAYLOAD_INVALID', { message: e.message, topic, asset: assetId });
      }
    }
  };

  function reject(
    rt: InputRuntime,
    code: string,
    report: { message: string; topic: string; asset: string } | null,
  ): void {
    rt.stats.rejected++;
    rt.stats.rejectedByReason[code] = (rt.stats.rejectedByReason[code] ?? 0) + 1;
    if (report) reportError(code, report.message, { topic: report.topic, asset: report.asset });
  }

  // --- status ----------------------------------------------------------------------------------
  const statusModels: StatusModel[] = [...models.values()].map((m) => ({
    id: m.id,
    version: m.manifest.version,
    backend: m.backend.kind,
    detail: m.backend.detail,
  }));
  function statusMessage(s: AgentState, will?: boolean) {
    return buildStatus(ctx, {
      state: s,
      version: VERSION,
      startedAt,
      models: statusModels,
      assets: [...assets.keys()],
      will,
    });
  }
  conn.on('connect', () => {
    void publishJson(topics.status, statusMessage('online'), true);
  });
  conn.onMessage(onMessage);
  const subscribed = new Set<string>();
  for (const rt of inputs) {
    if (subscribed.has(rt.input.topic)) continue;
    subscribed.add(rt.input.topic);
    conn.subscribe(rt.input.topic, config.mqtt.qos);
    if (rt.input.format === 'sparkplug') {
      // Aliases come from the BIRTH certificates of the same nodes/devices.
      const births = SparkplugAliases.birthFilter(rt.input.topic);
      if (births) conn.subscribe(births, config.mqtt.qos);
    }
  }

  // --- health & watchdog -----------------------------------------------------------------------
  const probe = deps.systemProbe ?? createSystemProbe(config.dataDir);
  const notifier = createNotifier(
    deps.sdNotify !== undefined ? deps.sdNotify : addon ? (s) => addon!.sdNotify(s) : null,
    log,
  );
  const watchdog = new Watchdog({
    notifier,
    watchdogMs: deps.watchdogMs !== undefined ? deps.watchdogMs : watchdogMsFromEnv(),
    now,
    timers,
    oldestInFlightStart: () => {
      let oldest: number | null = null;
      for (const m of models.values())
        if (m.inFlightSince !== null && (oldest === null || m.inFlightSince < oldest))
          oldest = m.inFlightSince;
      return oldest;
    },
  });
  watchdogRef.wd = watchdog;

  const inputsHealth = () =>
    Object.fromEntries(
      inputs.map((i) => [i.key, { ...i.stats, rejectedByReason: { ...i.stats.rejectedByReason } }]),
    );
  const modelsHealth = () => Object.fromEntries([...models.values()].map((m) => [m.id, m.health()]));
  const assetsHealth = () => Object.fromEntries([...assets.values()].map((a) => [a.id, a.health()]));

  async function healthMessage(): Promise<HealthMessage> {
    const c = conn.counters();
    return buildHealth(ctx, {
      version: VERSION,
      uptimeSec: Math.round((now() - startedAt) / 100) / 10,
      system: await probe.sample(),
      connection: {
        state: c.state,
        connects: c.connects,
        reconnects: c.reconnects,
        publishes: c.publishes,
        publishFailures: c.publishFailures,
        publishDropped: c.publishDropped,
        pending: c.pending,
      },
      models: modelsHealth(),
      inputs: inputsHealth(),
      assets: assetsHealth(),
      errors: errors.counters(),
      watchdog: watchdog.counters(),
    });
  }

  async function publishHealth(): Promise<HealthMessage> {
    const h = await healthMessage();
    await publishJson(topics.health, h);
    return h;
  }

  let healthTimer: unknown = null;
  const scheduleHealth = () => {
    healthTimer = timers.setTimeout(() => {
      void publishHealth()
        .catch((err: Error) => log.warn({ err: err.message }, 'health failed'))
        .finally(() => {
          if (state === 'running') scheduleHealth();
        });
    }, config.health.intervalSec * 1000);
  };

  conn.start();
  scheduleHealth();
  watchdog.ready();
  log.info(
    { deviceId: config.deviceId, bootId: ctx.bootId, models: [...models.keys()], inputs: inputs.length },
    'agent started',
  );

  // --- stop ------------------------------------------------------------------------------------
  let stopping: Promise<void> | null = null;
  async function stop(): Promise<void> {
    if (stopping) return stopping;
    stopping = (async () => {
      state = 'stopping';
      watchdog.stopping();
      if (healthTimer !== null) timers.clearTimeout(healthTimer);
      void publishJson(topics.status, statusMessage('stopping'), true);
      for (const m of models.values()) m.queue.close();
      // Bounded: an inference that never returns must not keep the process from stopping
      // (systemd would SIGKILL it after TimeoutStopSec anyway, without the offline status).
      let drainTimer: unknown = null;
      const drained = await Promise.race([
        Promise.all([...models.values()].map((m) => m.queue.drain())).then(() => true),
        new Promise<boolean>((resolve) => {
          drainTimer = timers.setTimeout(() => resolve(false), deps.drainTimeoutMs ?? 10_000);
        }),
      ]);
      timers.clearTimeout(drainTimer);
      if (!drained)
        log.warn(
          { timeoutMs: deps.drainTimeoutMs ?? 10_000 },
          'inference queues not drained in time: stopping anyway',
        );
      if (conn.connected) await publishJson(topics.status, statusMessage('offline'), true);
      await conn.end(3000);
      for (const m of models.values())
        await m.backend
          .dispose()
          .catch((err: Error) => log.warn({ model: m.id, err: err.message }, 'dispose failed'));
      probe.close();
      state = 'stopped';
      log.info({ bootId: ctx.bootId }, 'agent stopped');
    })();
    return stopping;
  }

  return {
    bootId: ctx.bootId,
    deviceId: config.deviceId,
    connection: conn,
    stop,
    publishHealth,
    stats: () => ({
      bootId: ctx.bootId,
      state,
      connection: conn.counters(),
      health: healthMessage,
      assets: assetsHealth(),
      models: modelsHealth(),
      inputs: inputsHealth(),
      errors: errors.counters(),
    }),
  };
}
