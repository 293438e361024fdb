// `vigil config check <file>`: validate a configuration file and print the effective result.
import type { Command } from 'commander';
import { ConfigError, loadConfigFile, overridesFromEnv } from '../../config/load.js';
import { configSchema } from '../../config/schema.js';

export function register(program: Command): void {
  const config = program.command('config').description('configuration files');
  config
    .command('check')
    .description('validate a configuration file (defaults applied); exit 1 when invalid')
    .argument('<file>', 'YAML configuration file')
    .option('--json', 'print the effective configuration as JSON')
    .action((file: string, opts: { json?: boolean }) => {
      try {
        const cfg = loadConfigFile(file, overridesFromEnv(process.env));
        if (opts.json) process.stdout.write(JSON.stringify(cfg, null, 2) + '\n');
        else
          process.stdout.write(
            `${file}: valid (device ${cfg.deviceId}, ${Object.keys(cfg.models).length} models, ${cfg.assets.length} assets, broker ${cfg.mqtt.url})\n`,
          );
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        if (opts.json)
          process.stdout.write(
            JSON.stringify({ valid: false, code: err.code, issues: err.issues }, null, 2) + '\n',
          );
        process.stderr.write(`vigil: [${err.code}] ${err.message}\n`);
        process.exitCode = 1;
      }
    });
  config
    .command('schema')
    .description('print the configuration JSON Schema (docs/schemas/config.schema.json)')
    .action(() => {
      const doc = { $schema: 'http://json-schema.org/draft-07/schema#', ...configSchema };
      process.stdout.write(JSON.stringify(doc, null, 2) + '\n');
    });
}
