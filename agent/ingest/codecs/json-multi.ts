// json-multi: {"ts": 1763856000123, "values": {"ax": 0.01, "ay": -0.02, "temp": 61.5}}; ts optional.
// One reading per channel, all at the same time.

import type { ChannelSamples, DecodeOptions, DecodedPayload } from '../decoded.js';
import { invalid } from '../payload-error.js';
import { checkSampleCount, optionalTimeMs, parseJson, requireObject, sampleValue } from './json-common.js';

export function decodeJsonMulti(bytes: Uint8Array, opts: DecodeOptions): DecodedPayload {
  const doc = requireObject(parseJson(bytes), '');
  const ts = optionalTimeMs(doc, 'ts');
  const values = requireObject(doc.values, 'values');
  const keys = Object.keys(values);
  if (keys.length === 0) throw invalid('values', 'at least one channel', values);
  checkSampleCount(keys.length, opts.maxSamples, 'values');
  const channels = new Map<string, ChannelSamples>();
  for (const key of keys) {
    const v = sampleValue(values[key], `values/${key}`);
    channels.set(key, {
      values: Float64Array.of(v),
      timestampsMs: ts === undefined ? undefined : Float64Array.of(ts),
    });
  }
  return { channels };
}
