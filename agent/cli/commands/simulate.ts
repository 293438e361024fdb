// `vigil simulate`: publish simulated rotating machines (healthy or faulty) over MQTT, in any
// input format the agent reads. Runs until Ctrl-C or --duration-sec.
import { Option, type Command } from 'commander';
import type { PayloadFormat } from '../../config/types.js';
import { parseAssetSpec, type SimAsset } from '../../sim/asset-spec.js';
import { SIM_FORMATS } from '../../sim/encoders.js';
import { SimError } from '../../sim/faults.js';
import { startSimulator, type Simulator } from '../../sim/simulator-publisher.js';
import type { VibrationAxis } from '../../sim/vibration-source.js';
import { fail } from '../fail.js';

interface SimulateOptions {
  broker: string;
  assets: string;
  format: PayloadFormat;
  rateHz: string;
  blockMs: string;
  seed: string;
  durationSec?: string;
  topic?: string;
  axial?: boolean;
  slow?: boolean;
  int16?: boolean;
  json?: boolean;
}

function num(flag: string, value: string, opts: { integer?: boolean; min: number; max: number }): number {
  const v = Number(value);
  if (
    value.trim() === '' ||
    !Number.isFinite(v) ||
    (opts.integer && !Number.isInteger(v)) ||
    v < opts.min ||
    v > opts.max
  ) {
    fail(
      `expected ${flag} ${opts.integer ? 'an integer' : 'a number'} in [${opts.min}, ${opts.max}] but received "${value}"`,
    );
  }
  return v;
}

export function register(program: Command): void {
  program
    .command('simulate')
    .description('publish simulated machine vibration (and process channels) over MQTT')
    .requiredOption('--broker <url>', 'broker URL, e.g. mqtt://127.0.0.1:1883')
    .option(
      '--assets <spec>',
      'assets as id:fault[:severity[:rpm]],... faults: healthy, imbalance, misalignment, looseness, bearing_outer, bearing_inner, bearing_ball',
      'fan-1:healthy,pump-2:bearing_outer:0.8',
    )
    .addOption(
      new Option('--format <format>', 'payload format').choices([...SIM_FORMATS]).default('json-block'),
    )
    .option('--rate-hz <n>', 'vibration sample rate (per-sample formats and sparkplug: <= 1000)', '8192')
    .option('--block-ms <n>', 'samples per message (block formats), in ms of signal', '250')
    .option('--seed <n>', 'run seed: the same seed and asset ids give the same signals', '1')
    .option('--duration-sec <n>', 'stop after this much signal (default: until Ctrl-C)')
    .option(
      '--topic <template>',
      "topic, '{asset}' = asset id (default sensors/{asset}/vibration; sparkplug spBv1.0/vigil/DDATA/sim/{asset})",
    )
    .option('--axial', 'add an axial channel ("axial") next to the radial one ("accel")')
    .option('--slow', 'also publish current + temperature at 1 Hz (json-multi) on sensors/{asset}/process')
    .option('--int16', 'binary-frame: int16 samples (16 g full scale) instead of float32')
    .option('--json', 'print the start summary and the final counters as JSON')
    .action(async (opts: SimulateOptions) => {
      let assets: SimAsset[];
      try {
        assets = parseAssetSpec(opts.assets);
      } catch (err) {
        if (err instanceof SimError) fail(`--assets: ${err.message}`);
        throw err;
      }
      if (!/^(mqtts?|wss?|tcp):\/\//.test(opts.broker))
        fail(`expected --broker a URL like mqtt://host:1883 but received "${opts.broker}"`);
      const rate = num('--rate-hz', opts.rateHz, { min: 1, max: 200000 });
      const blockMs = num('--block-ms', opts.blockMs, { min: 1, max: 60000 });
      const seed = num('--seed', opts.seed, { integer: true, min: 0, max: 0x7fffffff });
      const durationSec =
        opts.durationSec === undefined
          ? undefined
          : num('--duration-sec', opts.durationSec, { min: 0, max: 1e9 });
      const axes: VibrationAxis[] = opts.axial ? ['radial', 'axial'] : ['radial'];
      if (opts.axial && (opts.format === 'json-single' || opts.format === 'text')) {
        fail(`expected a multi-channel format with --axial but received --format ${opts.format}`);
      }

      let sim: Simulator;
      try {
        sim = startSimulator({
          brokerUrl: opts.broker,
          assets,
          format: opts.format,
          sampleRateHz: rate,
          blockMs,
          seed,
          durationSec,
          topicTemplate: opts.topic,
          axes,
          slowChannels: opts.slow,
          encode: opts.int16 ? { sampleType: 'int16' } : undefined,
        });
      } catch (err) {
        if (err instanceof SimError) fail(err.message);
        throw err;
      }
      const summary = {
        broker: opts.broker,
        format: opts.format,
        rateHz: rate,
        blockMs,
        seed,
        assets: sim.assets,
      };
      if (opts.json) process.stdout.write(JSON.stringify({ started: summary }) + '\n');
      else {
        process.stdout.write(`vigil simulate: ${opts.format} at ${rate} Hz to ${opts.broker}\n`);
        for (const a of sim.assets) {
          process.stdout.write(
            `  ${a.id}: ${a.fault}${a.fault === 'healthy' ? '' : ` ${a.severity}`}${a.rpm ? ` ${a.rpm} rpm` : ''} (seed ${a.seed})\n`,
          );
        }
      }
      const onSignal = () => void sim.stop();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      await sim.done;
      await sim.stop();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      const stats = sim.stats();
      if (opts.json) process.stdout.write(JSON.stringify({ stopped: stats }) + '\n');
      else
        process.stdout.write(
          `vigil simulate: stopped after ${stats.blocks} blocks, ${stats.messages} messages, ${stats.bytes} bytes${stats.publishErrors ? `, ${stats.publishErrors} publish errors` : ''}\n`,
        );
    });
}
