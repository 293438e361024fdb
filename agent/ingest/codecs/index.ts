// decodePayload(format, bytes, opts): the single entry point of the payload codecs.
// The byte cap (opts.maxPayloadBytes) is checked before anything is parsed. Throws PayloadError only
// (codes PAYLOAD_TOO_LARGE, PAYLOAD_INVALID, PAYLOAD_NONFINITE); anything else escaping a decoder is
// wrapped as PAYLOAD_INVALID so one malformed message can never take the pipeline down.

import type { PayloadFormat } from '../../config/types.js';
import type { DecodedPayload } from '../decoded.js';
import { PayloadError, tooLarge } from '../payload-error.js';
import { decodeBinaryFramePayload } from './binary-frame.js';
import { decodeJsonBlock } from './json-block.js';
import { decodeJsonMulti } from './json-multi.js';
import { decodeJsonSingle } from './json-single.js';
import { decodeSparkplug, type SparkplugDecodeOptions } from './sparkplug.js';
import { decodeText } from './text.js';

export type { SparkplugDecodeOptions as PayloadDecodeOptions };

const decoders: Record<PayloadFormat, (bytes: Uint8Array, opts: SparkplugDecodeOptions) => DecodedPayload> = {
  'json-single': decodeJsonSingle,
  'json-multi': decodeJsonMulti,
  'json-block': decodeJsonBlock,
  'binary-frame': decodeBinaryFramePayload,
  sparkplug: decodeSparkplug,
  text: decodeText,
};

export function decodePayload(
  format: PayloadFormat,
  bytes: Uint8Array,
  opts: SparkplugDecodeOptions,
): DecodedPayload {
  if (bytes.byteLength > opts.maxPayloadBytes) throw tooLarge(bytes.byteLength, opts.maxPayloadBytes);
  const decode = decoders[format];
  if (decode === undefined) {
    throw new PayloadError(
      'PAYLOAD_INVALID',
      'format',
      `Expected a known payload format but received ${format}`,
    );
  }
  try {
    return decode(bytes, opts);
  } catch (err) {
    if (err instanceof PayloadError) throw err;
    throw new PayloadError(
      'PAYLOAD_INVALID',
      '',
      `Failed to decode ${format} payload: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}

export {
  isSparkplugDataTopic,
  parseSparkplugTopic,
  sparkplugBirthAliases,
  encodeSparkplug,
} from './sparkplug.js';
