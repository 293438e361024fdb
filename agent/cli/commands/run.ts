// `vigil run`: the agent's main job. With --config it serves a real plant; without (or with
// --demo) it starts the quick-start demo: an embedded broker, simulated machines and the agent,
// printing every diagnosis and anomaly event it publishes until Ctrl-C.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Option, type Command } from 'commander';
import mqtt from 'mqtt';
import { loadConfigFile, overridesFromEnv, type ConfigOverrides } from '../../config/load.js';
import type { AgentConfig } from '../../config/types.js';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../demo/embedded-broker.js';
import { DEMO_ASSETS_SPEC, demoConfig } from '../../demo/demo-config.js';
import { formatReportLine } from '../../demo/report-line.js';
import { createLogger, setLogLevel } from '../../log/logger.js';
import { PACKAGE_ROOT } from '../../package-root.js';
import { startAgent } from '../../pipeline/agent.js';
import { parseAssetSpec } from '../../sim/asset-spec.js';
import { startSimulator } from '../../sim/simulator-publisher.js';
import { fail } from '../fail.js';

interface RunOptions {
  config?: string;
  broker?: string;
  deviceId?: string;
  dataDir?: string;
  logLevel?: string;
  demo?: boolean;
  port?: string;
  assets?: string;
}

export function register(program: Command): void {
  program
    .command('run')
    .description('run the agent: with --config against your broker, without it the built-in demo')
    .option('-c, --config <file>', 'YAML configuration (configs/example.yaml documents every field)')
    .option('--broker <url>', 'broker URL, e.g. mqtt://host:1883 (overrides the config; env VIGIL_BROKER)')
    .option('--device-id <id>', 'device id (overrides the config; env VIGIL_DEVICE_ID)')
    .option('--data-dir <dir>', 'state directory (overrides the config; env VIGIL_DATA_DIR)')
    .addOption(
      new Option('--log-level <level>', 'log level').choices([
        'trace',
        'debug',
        'info',
        'warn',
        'error',
        'fatal',
      ]),
    )
    .option(
      '--demo',
      'run the built-in demo: embedded broker + simulated machines (default without --config)',
    )
    .option(
      '--port <port>',
      'demo: port of the embedded broker on 127.0.0.1 (default 1883, or a free one if taken)',
    )
    .option('--assets <spec>', 'demo: simulated assets as id:fault:severity,... (default: 4 assets)')
    .action(async (opts: RunOptions) => {
      if (opts.demo || !opts.config) await runDemo(opts);
      else await runConfigured(opts);
    });
}

function cliOverrides(opts: RunOptions): ConfigOverrides {
  const env = overridesFromEnv(process.env);
  return {
    brokerUrl: opts.broker ?? env.brokerUrl,
    deviceId: opts.deviceId ?? env.deviceId,
    dataDir: opts.dataDir ?? env.dataDir,
    logLevel: opts.logLevel ?? env.logLevel,
  };
}

/** Resolves on the first SIGINT/SIGTERM; a second signal exits at once. */
function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (sig: NodeJS.Signals) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.once('SIGINT', () => process.exit(130));
      process.once('SIGTERM', () => process.exit(143));
      resolve(sig);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

async function runConfigured(opts: RunOptions): Promise<void> {
  const config = loadConfigFile(opts.config!, cliOverrides(opts));
  setLogLevel(config.log.level);
  const log = createLogger('main');
  const agent = await startAgent(config, {});
  const sig = await untilSignal();
  log.info({ signal: sig }, 'stopping');
  await agent.stop();
  log.info('stopped');
  exitSoonIfHandlesLeak();
}

/** After a clean stop nothing should keep the loop alive; if something does, do not hang systemd. */
function exitSoonIfHandlesLeak(): void {
  setTimeout(() => {
    createLogger('main').warn('handles still open 3 s after stop; exiting anyway');
    process.exit(process.exitCode === undefined ? 0 : Number(process.exitCode));
  }, 3000).unref();
}

async function runDemo(opts: RunOptions): Promise<void> {
  if (opts.config) fail('--demo and --config exclude each other');
  if (opts.broker) fail('--broker needs --config (the demo starts its own broker)');
  let assets: ReturnType<typeof parseAssetSpec>;
  try {
    assets = parseAssetSpec(opts.assets ?? DEMO_ASSETS_SPEC);
  } catch (err) {
    fail(`--assets: ${(err as Error).message}`);
  }
  let port = 1883;
  if (opts.port !== undefined) {
    port = Number(opts.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      fail(`expected --port an integer 0..65535 but received "${opts.port}"`);
  }
  // The demo prints human lines; the agent's JSON logs would drown them.
  setLogLevel((opts.logLevel ?? 'warn') as Parameters<typeof setLogLevel>[0]);

  let broker: EmbeddedBroker;
  try {
    broker = await startEmbeddedBroker(port);
  } catch (err) {
    if (opts.port !== undefined) throw err;
    broker = await startEmbeddedBroker(0); // 1883 taken (a broker already runs here): any free port
  }
  const dataDir = opts.dataDir ?? mkdtempSync(path.join(tmpdir(), 'vigil-demo-'));
  const deviceId = opts.deviceId ?? 'demo';
  const config: AgentConfig = demoConfig({
    brokerUrl: broker.url,
    deviceId,
    dataDir,
    packageRoot: PACKAGE_ROOT,
  });
  const out = (line: string) => process.stdout.write(line + '\n');
  out(`vigil demo: embedded broker at ${broker.url}, device "${deviceId}"`);
  out(
    `  simulating ${assets.map((a) => `${a.id} (${a.fault}${a.fault === 'healthy' ? '' : ` ${a.severity}`})`).join(', ')}`,
  );
  out(
    `  watch it yourself: mosquitto_sub -h 127.0.0.1 -p ${broker.port} -t '${config.mqtt.topicPrefix}/#' -v`,
  );
  out('  Ctrl-C stops everything.');

  // Everything started is stopped again, in reverse order, on Ctrl-C and on any failure.
  const stops: (() => Promise<unknown>)[] = [
    () => broker.close(),
    async () => {
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  ];
  try {
    await runDemoParts(broker, config, assets, stops, out);
  } finally {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
  }
  out('vigil demo: stopped');
  exitSoonIfHandlesLeak();
}

async function runDemoParts(
  broker: EmbeddedBroker,
  config: AgentConfig,
  assets: ReturnType<typeof parseAssetSpec>,
  stops: (() => Promise<unknown>)[],
  out: (line: string) => void,
): Promise<void> {
  const agent = await startAgent(config, {});
  stops.push(() => agent.stop());
  const watcher = await mqtt.connectAsync(broker.url, {
    reconnectPeriod: 0,
    clientId: `vigil-demo-watch-${process.pid}`,
  });
  stops.push(() => watcher.endAsync());
  watcher.on('message', (topic, payload) => {
    const line = formatReportLine(topic, payload);
    if (line) out(line);
  });
  await watcher.subscribeAsync(
    [`${config.mqtt.topicPrefix}/diagnosis/+`, `${config.mqtt.topicPrefix}/anomaly/+`],
    { qos: 0 },
  );
  const sim = startSimulator({ brokerUrl: broker.url, assets, format: 'json-block', seed: 1 });
  stops.push(() => sim.stop());

  await untilSignal();
  out('vigil demo: stopping');
}
