// sparkplug: Sparkplug B payloads (protobuf) on `spBv1.0/<group>/DDATA|NDATA/<node>[/<device>]`.
//
// Numeric metrics become channels keyed by metric name (or by alias through an alias table learned
// from the NBIRTH/DBIRTH, see sparkplugBirthAliases). A metric's time is its own timestamp, else the
// payload's; several values of one metric in one payload (Sparkplug batching) become readings in
// payload order. Metrics flagged is_null, and non-numeric metrics (String, Boolean, DataSet, ...),
// are not samples and are skipped; a Float/Double NaN or Infinity is PAYLOAD_NONFINITE.

import sparkplugPayload from 'sparkplug-payload';
import type { ChannelSamples, DecodeOptions, DecodedPayload } from '../decoded.js';
import { invalid, nonFinite, PayloadError } from '../payload-error.js';

type SparkplugCodec = NonNullable<ReturnType<typeof sparkplugPayload.get>>;
type UPayload = ReturnType<SparkplugCodec['decodePayload']>;
type UMetric = NonNullable<UPayload['metrics']>[number];

const codec = sparkplugPayload.get('spBv1.0') as SparkplugCodec;

const NUMERIC_TYPES = new Set([
  'Int8',
  'Int16',
  'Int32',
  'Int64',
  'UInt8',
  'UInt16',
  'UInt32',
  'UInt64',
  'Float',
  'Double',
]);

export interface SparkplugTopic {
  group: string;
  messageType: string; // NBIRTH, NDATA, DBIRTH, DDATA, ...
  node: string;
  device?: string;
}

/** Parses `spBv1.0/<group>/<type>/<node>[/<device>]`; undefined for anything else. */
export function parseSparkplugTopic(topic: string): SparkplugTopic | undefined {
  const parts = topic.split('/');
  if (parts[0] !== 'spBv1.0' || parts.length < 4 || parts.length > 5) return undefined;
  if (parts.some((p) => p.length === 0)) return undefined;
  return { group: parts[1], messageType: parts[2], node: parts[3], device: parts[4] };
}

export function isSparkplugDataTopic(topic: string): boolean {
  const t = parseSparkplugTopic(topic);
  return t !== undefined && (t.messageType === 'DDATA' || t.messageType === 'NDATA');
}

interface LongLike {
  low: number;
  high: number;
  unsigned?: boolean;
}

function isLong(v: unknown): v is LongLike {
  return typeof v === 'object' && v !== null && 'low' in v && 'high' in v;
}

/** Long -> number; signed unless `unsigned`. Exact up to 2^53. */
function longToNumber(v: LongLike, signed: boolean): number {
  const low = v.low >>> 0;
  const high = signed ? v.high | 0 : v.high >>> 0;
  return high * 4294967296 + low;
}

function decodeRaw(bytes: Uint8Array): UPayload {
  try {
    return codec.decodePayload(bytes);
  } catch (err) {
    throw new PayloadError(
      'PAYLOAD_INVALID',
      '',
      `Expected a Sparkplug B protobuf payload but decoding failed (${(err as Error).message})`,
      { cause: err },
    );
  }
}

function timeOf(v: unknown, field: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  const n = isLong(v) ? longToNumber(v, false) : typeof v === 'number' ? v : NaN;
  if (!Number.isFinite(n)) throw invalid(field, 'a time in ms since the epoch', v);
  return n === 0 ? undefined : n;
}

function metricValue(m: UMetric, field: string): number | undefined {
  if (m.isNull === true || m.value === null || m.value === undefined) return undefined;
  if (!NUMERIC_TYPES.has(m.type)) return undefined;
  const v: unknown = m.value;
  let n: number;
  if (isLong(v)) n = longToNumber(v, !m.type.startsWith('UInt'));
  else if (typeof v === 'number') n = v;
  else throw invalid(field, `a number for a ${m.type} metric`, v);
  if (!Number.isFinite(n)) throw nonFinite(field, n);
  // Sparkplug carries Int8/16/32 as unsigned varints: restore the sign.
  if (m.type === 'Int8' && n > 127) n -= 256;
  else if (m.type === 'Int16' && n > 32767) n -= 65536;
  else if (m.type === 'Int32' && n > 2147483647) n -= 4294967296;
  return n;
}

function aliasKey(alias: unknown): string | undefined {
  if (alias === undefined || alias === null) return undefined;
  if (isLong(alias)) return String(longToNumber(alias, false));
  if (typeof alias === 'number') return String(alias);
  return undefined;
}

export interface SparkplugDecodeOptions extends DecodeOptions {
  /** Alias (decimal string) -> metric name, from the node's/device's BIRTH. */
  sparkplugAliases?: ReadonlyMap<string, string>;
}

export function decodeSparkplug(bytes: Uint8Array, opts: SparkplugDecodeOptions): DecodedPayload {
  const payload = decodeRaw(bytes);
  const payloadTs = timeOf(payload.timestamp, 'timestamp');
  const metrics = payload.metrics ?? [];
  const collected = new Map<string, { values: number[]; times: (number | undefined)[] }>();
  let total = 0;
  metrics.forEach((m, i) => {
    let name = typeof m.name === 'string' && m.name.length > 0 ? m.name : undefined;
    if (name === undefined) {
      const key = aliasKey(m.alias);
      name = key === undefined ? undefined : opts.sparkplugAliases?.get(key);
    }
    if (name === undefined) return; // unnamed, unknown alias: not addressable by any input
    const field = `metrics/${i}(${name})`;
    const value = metricValue(m, field);
    if (value === undefined) return;
    total++;
    if (total > opts.maxSamples) {
      throw new PayloadError(
        'PAYLOAD_TOO_LARGE',
        'metrics',
        `Expected at most ${opts.maxSamples} samples per message for metrics but received more`,
      );
    }
    const ts = timeOf(m.timestamp, `${field}.timestamp`) ?? payloadTs;
    let entry = collected.get(name);
    if (entry === undefined) {
      entry = { values: [], times: [] };
      collected.set(name, entry);
    }
    entry.values.push(value);
    entry.times.push(ts);
  });
  const channels = new Map<string, ChannelSamples>();
  for (const [name, { values, times }] of collected) {
    const allTimed = times.every((t) => t !== undefined);
    if (!allTimed && values.length > 1) {
      throw invalid(
        `metrics(${name}).timestamp`,
        'a timestamp on every value of a batched metric',
        undefined,
      );
    }
    channels.set(name, {
      values: Float64Array.from(values),
      timestampsMs: allTimed ? Float64Array.from(times as number[]) : undefined,
    });
  }
  return { channels };
}

/** Alias table from an NBIRTH/DBIRTH payload: alias (decimal string) -> metric name. */
export function sparkplugBirthAliases(bytes: Uint8Array): Map<string, string> {
  const payload = decodeRaw(bytes);
  const out = new Map<string, string>();
  for (const m of payload.metrics ?? []) {
    const key = aliasKey(m.alias);
    if (key !== undefined && typeof m.name === 'string' && m.name.length > 0) out.set(key, m.name);
  }
  return out;
}

/** Encoder for tests and the simulator (thin wrapper so they need not import the package). */
export function encodeSparkplug(payload: Parameters<SparkplugCodec['encodePayload']>[0]): Uint8Array {
  return codec.encodePayload(payload);
}
