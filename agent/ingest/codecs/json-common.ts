// Shared JSON helpers for the codecs: strict UTF-8, JSON.parse with coded errors, and the field
// checks that name the field, the expectation and the received value.
//
// Why hand-written checks rather than ajv at run time: ajv validates a block of 8192 samples
// about as fast, but on a failure it reports only the schema path, and for non-finite samples
// the codec must say *which* sample and use a different code (PAYLOAD_NONFINITE). The schemas in
// docs/schemas/input-*.schema.json document the same rules and a test checks both agree.

import { invalid, nonFinite, PayloadError } from '../payload-error.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function decodeUtf8(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch (err) {
    throw new PayloadError('PAYLOAD_INVALID', '', 'Expected UTF-8 text but received invalid byte sequences', {
      cause: err,
    });
  }
}

export function parseJson(bytes: Uint8Array): unknown {
  const text = decodeUtf8(bytes);
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new PayloadError(
      'PAYLOAD_INVALID',
      '',
      `Expected a JSON document but received unparseable text (${(err as Error).message})`,
      { cause: err },
    );
  }
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function requireObject(v: unknown, field: string): Record<string, unknown> {
  if (!isPlainObject(v)) throw invalid(field, 'a JSON object', v);
  return v;
}

/** A sample value: finite number. null/strings/booleans/NaN are PAYLOAD_NONFINITE; structures INVALID. */
export function sampleValue(v: unknown, field: string): number {
  if (typeof v === 'number') {
    if (Number.isFinite(v)) return v;
    throw nonFinite(field, v);
  }
  if (typeof v === 'object' && v !== null) throw invalid(field, 'a finite number', v);
  throw nonFinite(field, v);
}

/** Optional timestamp in ms since the epoch: absent -> undefined; else a finite number >= 0. */
export function optionalTimeMs(obj: Record<string, unknown>, key: string): number | undefined {
  const v = obj[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number') throw invalid(key, 'a time in ms since the epoch (number)', v);
  if (!Number.isFinite(v)) throw nonFinite(key, v);
  if (v < 0) throw invalid(key, 'a time in ms since the epoch >= 0', v);
  return v;
}

export function checkSampleCount(count: number, maxSamples: number, field: string): void {
  if (count > maxSamples) {
    throw new PayloadError(
      'PAYLOAD_TOO_LARGE',
      field,
      `Expected at most ${maxSamples} samples per message for ${field} but received ${count}`,
    );
  }
}
