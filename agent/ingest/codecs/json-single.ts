// json-single: {"ts": 1763856000123, "value": 0.0123}; ts optional (ms since epoch). Other keys
// are ignored (senders often add "unit" or "id").

import { SINGLE_CHANNEL, type DecodeOptions, type DecodedPayload } from '../decoded.js';
import { invalid } from '../payload-error.js';
import { optionalTimeMs, parseJson, requireObject, sampleValue } from './json-common.js';

export function decodeJsonSingle(bytes: Uint8Array, _opts: DecodeOptions): DecodedPayload {
  const doc = requireObject(parseJson(bytes), '');
  const ts = optionalTimeMs(doc, 'ts');
  if (!('value' in doc)) throw invalid('value', 'a finite number', undefined);
  const value = sampleValue(doc.value, 'value');
  return {
    channels: new Map([
      [
        SINGLE_CHANNEL,
        { values: Float64Array.of(value), timestampsMs: ts === undefined ? undefined : Float64Array.of(ts) },
      ],
    ]),
  };
}
