// text: a plain decimal number, e.g. "0.0123" or " -1.5e-3\n" (surrounding whitespace allowed).
// No sender time: the assembler stamps it with arrival time.

import { SINGLE_CHANNEL, type DecodeOptions, type DecodedPayload } from '../decoded.js';
import { invalid, nonFinite } from '../payload-error.js';
import { decodeUtf8 } from './json-common.js';

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const NON_FINITE_WORDS = /^[+-]?(?:nan|inf|infinity)$/i;

export function decodeText(bytes: Uint8Array, _opts: DecodeOptions): DecodedPayload {
  const text = decodeUtf8(bytes).trim();
  if (NON_FINITE_WORDS.test(text)) throw nonFinite('value', text);
  if (!NUMBER.test(text)) throw invalid('value', 'a decimal number as text', text);
  const value = Number(text);
  if (!Number.isFinite(value)) throw nonFinite('value', text); // e.g. "1e999"
  return { channels: new Map([[SINGLE_CHANNEL, { values: Float64Array.of(value) }]]) };
}
