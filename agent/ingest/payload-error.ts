// Errors raised by the payload codecs. Every decoder throws only PayloadError (never strings,
// never a bare TypeError from a parser): callers count `code` per input and drop the message.

export type PayloadErrorCode = 'PAYLOAD_TOO_LARGE' | 'PAYLOAD_INVALID' | 'PAYLOAD_NONFINITE';

export class PayloadError extends Error {
  readonly code: PayloadErrorCode;
  /** JSON-pointer-like path of the offending field ('' for the whole payload). */
  readonly field: string;

  constructor(code: PayloadErrorCode, field: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PayloadError';
    this.code = code;
    this.field = field;
  }
}

/** Describes a received value for messages: `-1 of type number`, `"abc" of type string`. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (typeof value === 'string') {
    const shown = value.length > 40 ? `${value.slice(0, 40)}...` : value;
    return `${JSON.stringify(shown)} of type string`;
  }
  if (typeof value === 'object') return 'an object';
  return `${String(value)} of type ${typeof value}`;
}

export function invalid(field: string, expected: string, received: unknown): PayloadError {
  return new PayloadError(
    'PAYLOAD_INVALID',
    field,
    `Expected ${expected} for ${field || 'payload'} but received ${describeValue(received)}`,
  );
}

export function nonFinite(field: string, received: unknown): PayloadError {
  return new PayloadError(
    'PAYLOAD_NONFINITE',
    field,
    `Expected a finite number for ${field} but received ${describeValue(received)}`,
  );
}

export function tooLarge(bytes: number, maxBytes: number): PayloadError {
  return new PayloadError(
    'PAYLOAD_TOO_LARGE',
    '',
    `Expected a payload of at most ${maxBytes} bytes (limits.maxPayloadBytes) but received ${bytes} bytes`,
  );
}
