// json-block: a fixed-rate block, one channel {"t0": ms, "rateHz": 12800, "values": [..]} or several
// {"t0": ms, "rateHz": 12800, "values": {"ax": [..], "ay": [..]}} (equal lengths). t0 optional.

import { SINGLE_CHANNEL, type ChannelSamples, type DecodeOptions, type DecodedPayload } from '../decoded.js';
import { invalid, nonFinite } from '../payload-error.js';
import {
  checkSampleCount,
  isPlainObject,
  optionalTimeMs,
  parseJson,
  requireObject,
  sampleValue,
} from './json-common.js';

function sampleArray(arr: unknown, field: string): Float64Array {
  if (!Array.isArray(arr)) throw invalid(field, 'an array of finite numbers', arr);
  if (arr.length === 0) throw invalid(field, 'at least one sample', arr);
  const out = new Float64Array(arr.length);
  for (let i = 0; i < arr.length; i++) {
    const v: unknown = arr[i];
    // Fast path: the common case is a finite number; the slow path names the bad sample.
    if (typeof v === 'number' && Number.isFinite(v)) out[i] = v;
    else out[i] = sampleValue(v, `${field}/${i}`);
  }
  return out;
}

export function decodeJsonBlock(bytes: Uint8Array, opts: DecodeOptions): DecodedPayload {
  const doc = requireObject(parseJson(bytes), '');
  const t0Ms = optionalTimeMs(doc, 't0');
  const rate = doc.rateHz;
  if (typeof rate !== 'number') throw invalid('rateHz', 'a positive sample rate in Hz', rate);
  if (!Number.isFinite(rate)) throw nonFinite('rateHz', rate);
  if (!(rate > 0)) throw invalid('rateHz', 'a positive sample rate in Hz', rate);
  const channels = new Map<string, ChannelSamples>();
  if (Array.isArray(doc.values)) {
    checkSampleCount(doc.values.length, opts.maxSamples, 'values');
    channels.set(SINGLE_CHANNEL, { values: sampleArray(doc.values, 'values'), t0Ms, rateHz: rate });
    return { channels };
  }
  if (!isPlainObject(doc.values)) {
    throw invalid('values', 'an array of samples or an object of channel -> array', doc.values);
  }
  const keys = Object.keys(doc.values);
  if (keys.length === 0) throw invalid('values', 'at least one channel', doc.values);
  let total = 0;
  for (const key of keys) {
    const arr = doc.values[key];
    if (Array.isArray(arr)) total += arr.length;
  }
  checkSampleCount(total, opts.maxSamples, 'values');
  let length = -1;
  for (const key of keys) {
    const values = sampleArray(doc.values[key], `values/${key}`);
    if (length >= 0 && values.length !== length) {
      throw invalid(`values/${key}`, `${length} samples like the other channels`, `${values.length} samples`);
    }
    length = values.length;
    channels.set(key, { values, t0Ms, rateHz: rate });
  }
  return { channels };
}
