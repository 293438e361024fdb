// Loading the agent's configuration: YAML -> overrides -> JSON Schema validation with defaults
// -> cross-field checks -> AgentConfig. Every failure is one ConfigError (code CONFIG_INVALID)
// listing each offending field with what was expected and what was received.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { parseDocument } from 'yaml';
import { configSchema } from './schema.js';
import type { AgentConfig } from './types.js';

export interface ConfigIssue {
  field: string; // dotted path, e.g. "mqtt.keepaliveSec" or "assets[0].inputs[1].format"
  expected: string;
  received: string;
}

export class ConfigError extends Error {
  readonly code: string;
  constructor(
    message: string,
    readonly issues: ConfigIssue[] = [],
    code = 'CONFIG_INVALID',
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.code = code;
  }
}

/** Values that win over the file: flags first, then environment, then the file. */
export interface ConfigOverrides {
  brokerUrl?: string;
  deviceId?: string;
  dataDir?: string;
  logLevel?: string;
}

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true, allowUnionTypes: true });
const validate = ajv.compile<AgentConfig>(configSchema);

export function overridesFromEnv(env: NodeJS.ProcessEnv): ConfigOverrides {
  return {
    brokerUrl: env.VIGIL_BROKER || undefined,
    deviceId: env.VIGIL_DEVICE_ID || undefined,
    dataDir: env.VIGIL_DATA_DIR || undefined,
    logLevel: env.VIGIL_LOG_LEVEL || undefined,
  };
}

/** Read, validate and complete a configuration file. Relative paths resolve against its folder. */
export function loadConfigFile(file: string, overrides: ConfigOverrides = {}): AgentConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `failed to read config file ${file}: ${(err as Error).message}`,
      [],
      'CONFIG_READ',
      {
        cause: err,
      },
    );
  }
  return parseConfig(text, { baseDir: path.dirname(path.resolve(file)), source: file, overrides });
}

export function parseConfig(
  text: string,
  opts: { baseDir: string; source?: string; overrides?: ConfigOverrides },
): AgentConfig {
  const source = opts.source ?? 'config';
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    throw new ConfigError(`failed to parse ${source}: ${e.message}`, [], 'CONFIG_PARSE');
  }
  const raw: unknown = doc.toJS() ?? {};
  return completeConfig(raw, { ...opts, source });
}

/** Validate a plain object (already parsed) and apply defaults, overrides and path resolution. */
export function completeConfig(
  raw: unknown,
  opts: { baseDir: string; source?: string; overrides?: ConfigOverrides },
): AgentConfig {
  const source = opts.source ?? 'config';
  const obj = structuredClone(raw) as Record<string, unknown>;
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    throw new ConfigError(
      `invalid ${source}: expected a mapping at the top level but received ${describe(raw)}`,
      [{ field: '(root)', expected: 'a mapping', received: describe(raw) }],
    );
  }
  applyOverrides(obj, opts.overrides ?? {});
  if (!validate(obj)) {
    const issues = (validate.errors ?? []).map((e) => toIssue(e, obj));
    throw new ConfigError(
      `invalid ${source}:\n` +
        issues.map((i) => `  ${i.field}: expected ${i.expected} but received ${i.received}`).join('\n'),
      issues,
    );
  }
  const config = obj as unknown as AgentConfig;
  crossCheck(config, source);
  resolvePaths(config, opts.baseDir);
  config.mqtt.topicPrefix = config.mqtt.topicPrefix.replaceAll('{deviceId}', config.deviceId);
  return config;
}

function applyOverrides(obj: Record<string, unknown>, o: ConfigOverrides): void {
  if (o.deviceId !== undefined) obj.deviceId = o.deviceId;
  if (o.dataDir !== undefined) obj.dataDir = o.dataDir;
  if (o.brokerUrl !== undefined) {
    const mqtt = (obj.mqtt ??= {}) as Record<string, unknown>;
    if (typeof mqtt === 'object' && mqtt !== null) mqtt.url = o.brokerUrl;
  }
  if (o.logLevel !== undefined) {
    const log = (obj.log ??= {}) as Record<string, unknown>;
    if (typeof log === 'object' && log !== null) log.level = o.logLevel;
  }
}

function crossCheck(config: AgentConfig, source: string): void {
  const issues: ConfigIssue[] = [];
  config.assets.forEach((asset, i) => {
    if (!(asset.model in config.models)) {
      issues.push({
        field: `assets[${i}].model`,
        expected: `one of the models (${Object.keys(config.models).join(', ') || 'none defined'})`,
        received: JSON.stringify(asset.model),
      });
    }
    if (asset.debounce.n > asset.debounce.m) {
      issues.push({
        field: `assets[${i}].debounce.n`,
        expected: `at most debounce.m (${asset.debounce.m})`,
        received: String(asset.debounce.n),
      });
    }
    asset.inputs.forEach((input, j) => {
      const captures = input.topic.split('/').filter((s) => s === '+').length;
      for (const m of asset.id.matchAll(/\{(\d+)\}/g)) {
        if (Number(m[1]) < 1 || Number(m[1]) > captures) {
          issues.push({
            field: `assets[${i}].id`,
            expected: `captures {1}..{${captures}} of inputs[${j}].topic "${input.topic}"`,
            received: JSON.stringify(asset.id),
          });
        }
      }
      if (input.topic.includes('#') && !input.topic.endsWith('#')) {
        issues.push({
          field: `assets[${i}].inputs[${j}].topic`,
          expected: "'#' only as the last segment",
          received: JSON.stringify(input.topic),
        });
      }
    });
  });
  if (config.mqtt.reconnect.initialDelayMs > config.mqtt.reconnect.maxDelayMs) {
    issues.push({
      field: 'mqtt.reconnect.initialDelayMs',
      expected: `at most mqtt.reconnect.maxDelayMs (${config.mqtt.reconnect.maxDelayMs})`,
      received: String(config.mqtt.reconnect.initialDelayMs),
    });
  }
  if (issues.length > 0) {
    throw new ConfigError(
      `invalid ${source}:\n` +
        issues.map((i) => `  ${i.field}: expected ${i.expected} but received ${i.received}`).join('\n'),
      issues,
    );
  }
}

function resolvePaths(config: AgentConfig, baseDir: string): void {
  config.dataDir = path.resolve(baseDir, config.dataDir);
  for (const model of Object.values(config.models)) model.bundle = path.resolve(baseDir, model.bundle);
  const tls = config.mqtt.tls;
  if (tls) {
    for (const k of ['ca', 'cert', 'key'] as const) if (tls[k]) tls[k] = path.resolve(baseDir, tls[k]!);
  }
}

function toIssue(e: ErrorObject, root: unknown): ConfigIssue {
  const field = pointerToField(e.instancePath);
  const received = (target: string) => describe(valueAt(root, target));
  switch (e.keyword) {
    case 'required': {
      const missing = (e.params as { missingProperty: string }).missingProperty;
      return {
        field: field ? `${field}.${missing}` : missing,
        expected: 'a value (required)',
        received: 'nothing',
      };
    }
    case 'additionalProperties': {
      const extra = (e.params as { additionalProperty: string }).additionalProperty;
      return {
        field: field ? `${field}.${extra}` : extra,
        expected: 'no such field (unknown key)',
        received: received(`${e.instancePath}/${extra}`),
      };
    }
    case 'enum':
      return {
        field,
        expected: `one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`,
        received: received(e.instancePath),
      };
    case 'type':
      return {
        field,
        expected: `a value of type ${(e.params as { type: string }).type}`,
        received: received(e.instancePath),
      };
    default:
      return {
        field: field || '(root)',
        expected: `a value that ${e.message ?? 'matches the schema'}`,
        received: received(e.instancePath),
      };
  }
}

function pointerToField(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '');
}

function valueAt(root: unknown, pointer: string): unknown {
  let v: unknown = root;
  for (const p of pointer.split('/').slice(1)) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[p.replaceAll('~1', '/').replaceAll('~0', '~')];
  }
  return v;
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'object') return 'a mapping';
  return `${JSON.stringify(v)} of type ${typeof v}`;
}
