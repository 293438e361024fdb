import { describe, expect, it } from 'vitest';
import { decodePayload } from '../../agent/ingest/codecs/index.js';
import { PayloadError } from '../../agent/ingest/payload-error.js';
import type { PayloadFormat } from '../../agent/config/types.js';

const opts = { maxPayloadBytes: 262144, maxSamples: 8192 };
const enc = (s: string) => new TextEncoder().encode(s);
const json = (v: unknown) => enc(JSON.stringify(v));

function codeOf(
  format: PayloadFormat,
  bytes: Uint8Array,
  o = opts,
): { code: string; field: string; message: string } {
  try {
    decodePayload(format, bytes, o);
  } catch (err) {
    expect(err).toBeInstanceOf(PayloadError);
    const e = err as PayloadError;
    return { code: e.code, field: e.field, message: e.message };
  }
  throw new Error('expected a PayloadError');
}

describe('json-single', () => {
  it('decodes a reading with and without ts', () => {
    const d = decodePayload('json-single', json({ ts: 1763856000123, value: 0.0123, unit: 'g' }), opts);
    const ch = d.channels.get('value')!;
    expect([...ch.values]).toEqual([0.0123]);
    expect([...ch.timestampsMs!]).toEqual([1763856000123]);
    expect(ch.rateHz).toBeUndefined();
    const d2 = decodePayload('json-single', json({ value: -2 }), opts);
    expect(d2.channels.get('value')!.timestampsMs).toBeUndefined();
  });

  it.each([
    ['{"value": null}', 'PAYLOAD_NONFINITE', 'value'],
    ['{"value": "0.1"}', 'PAYLOAD_NONFINITE', 'value'],
    ['{"value": true}', 'PAYLOAD_NONFINITE', 'value'],
    ['{"value": [1]}', 'PAYLOAD_INVALID', 'value'],
    ['{"ts": 5}', 'PAYLOAD_INVALID', 'value'],
    ['{"ts": "yesterday", "value": 1}', 'PAYLOAD_INVALID', 'ts'],
    ['{"ts": -1, "value": 1}', 'PAYLOAD_INVALID', 'ts'],
    ['[1, 2]', 'PAYLOAD_INVALID', ''],
    ['0.5', 'PAYLOAD_INVALID', ''],
    ['{"value": 1', 'PAYLOAD_INVALID', ''],
    ['{"value": NaN}', 'PAYLOAD_INVALID', ''],
  ])('%s -> %s at %s', (text, code, field) => {
    const e = codeOf('json-single', enc(text));
    expect(e.code).toBe(code);
    expect(e.field).toBe(field);
  });

  it('names field, expectation and received value in the message', () => {
    expect(codeOf('json-single', enc('{"value": "abc"}')).message).toBe(
      'Expected a finite number for value but received "abc" of type string',
    );
  });

  it('rejects invalid UTF-8', () => {
    expect(codeOf('json-single', Uint8Array.of(0x7b, 0xff, 0x7d)).code).toBe('PAYLOAD_INVALID');
  });
});

describe('json-multi', () => {
  it('decodes one reading per channel at the same time', () => {
    const d = decodePayload(
      'json-multi',
      json({ ts: 1000, values: { ax: 0.01, ay: -0.02, temp: 61.5 } }),
      opts,
    );
    expect([...d.channels.keys()]).toEqual(['ax', 'ay', 'temp']);
    expect([...d.channels.get('temp')!.values]).toEqual([61.5]);
    expect([...d.channels.get('ay')!.timestampsMs!]).toEqual([1000]);
  });

  it.each([
    ['{"values": {}}', 'PAYLOAD_INVALID', 'values'],
    ['{"values": [1, 2]}', 'PAYLOAD_INVALID', 'values'],
    ['{"value": 1}', 'PAYLOAD_INVALID', 'values'],
    ['{"values": {"ax": null}}', 'PAYLOAD_NONFINITE', 'values/ax'],
    ['{"values": {"ax": 1, "ay": "x"}}', 'PAYLOAD_NONFINITE', 'values/ay'],
    ['{"values": {"ax": {"v": 1}}}', 'PAYLOAD_INVALID', 'values/ax'],
  ])('%s -> %s at %s', (text, code, field) => {
    const e = codeOf('json-multi', enc(text));
    expect(e.code).toBe(code);
    expect(e.field).toBe(field);
  });

  it('limits the channel count by maxSamples', () => {
    const values = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`c${i}`, i]));
    expect(codeOf('json-multi', json({ values }), { ...opts, maxSamples: 4 }).code).toBe('PAYLOAD_TOO_LARGE');
  });
});

describe('json-block', () => {
  it('decodes a single-channel block', () => {
    const d = decodePayload(
      'json-block',
      json({ t0: 1763856000123, rateHz: 12800, values: [1, 2, 3] }),
      opts,
    );
    const ch = d.channels.get('value')!;
    expect([...ch.values]).toEqual([1, 2, 3]);
    expect(ch.t0Ms).toBe(1763856000123);
    expect(ch.rateHz).toBe(12800);
    expect(ch.timestampsMs).toBeUndefined();
  });

  it('decodes the multi-channel form, t0 optional', () => {
    const d = decodePayload('json-block', json({ rateHz: 100, values: { ax: [1, 2], ay: [3, 4] } }), opts);
    expect([...d.channels.get('ay')!.values]).toEqual([3, 4]);
    expect(d.channels.get('ax')!.t0Ms).toBeUndefined();
  });

  it('decodes an 8192-sample block', () => {
    const values = Array.from({ length: 8192 }, (_, i) => Math.sin(i / 10));
    const d = decodePayload('json-block', json({ t0: 1, rateHz: 12800, values }), opts);
    expect(d.channels.get('value')!.values.length).toBe(8192);
    expect(d.channels.get('value')!.values[8191]).toBe(values[8191]);
  });

  it.each([
    ['{"values": [1]}', 'PAYLOAD_INVALID', 'rateHz'],
    ['{"rateHz": 0, "values": [1]}', 'PAYLOAD_INVALID', 'rateHz'],
    ['{"rateHz": -5, "values": [1]}', 'PAYLOAD_INVALID', 'rateHz'],
    ['{"rateHz": "100", "values": [1]}', 'PAYLOAD_INVALID', 'rateHz'],
    ['{"rateHz": 100, "values": []}', 'PAYLOAD_INVALID', 'values'],
    ['{"rateHz": 100, "values": 5}', 'PAYLOAD_INVALID', 'values'],
    ['{"rateHz": 100, "values": [1, null, 3]}', 'PAYLOAD_NONFINITE', 'values/1'],
    ['{"rateHz": 100, "values": [1, 2, "3"]}', 'PAYLOAD_NONFINITE', 'values/2'],
    ['{"rateHz": 100, "values": [false]}', 'PAYLOAD_NONFINITE', 'values/0'],
    ['{"rateHz": 100, "values": {"ax": [1, 2], "ay": [1]}}', 'PAYLOAD_INVALID', 'values/ay'],
    ['{"rateHz": 100, "values": {"ax": [1e400]}}', 'PAYLOAD_NONFINITE', 'values/ax/0'],
    ['{"rateHz": 100, "values": {"ax": "1,2"}}', 'PAYLOAD_INVALID', 'values/ax'],
    ['{"rateHz": 100, "values": {}}', 'PAYLOAD_INVALID', 'values'],
    ['{"t0": null, "rateHz": 100, "values": [1]}', 'PAYLOAD_INVALID', 't0'],
  ])('%s -> %s at %s', (text, code, field) => {
    const e = codeOf('json-block', enc(text));
    expect(e.code).toBe(code);
    expect(e.field).toBe(field);
  });

  it('enforces the per-message sample limit over all channels', () => {
    const e = codeOf('json-block', json({ rateHz: 1, values: { a: [1, 2, 3], b: [1, 2, 3] } }), {
      ...opts,
      maxSamples: 5,
    });
    expect(e.code).toBe('PAYLOAD_TOO_LARGE');
    expect(e.field).toBe('values');
  });
});

describe('text', () => {
  it.each([
    ['0.0123', 0.0123],
    [' -1.5e-3\n', -0.0015],
    ['+7', 7],
    ['.5', 0.5],
    ['42.', 42],
  ])('%j -> %d', (text, value) => {
    const d = decodePayload('text', enc(text), opts);
    expect([...d.channels.get('value')!.values]).toEqual([value]);
    expect(d.channels.get('value')!.timestampsMs).toBeUndefined();
  });

  it.each([
    ['NaN', 'PAYLOAD_NONFINITE'],
    ['-inf', 'PAYLOAD_NONFINITE'],
    ['Infinity', 'PAYLOAD_NONFINITE'],
    ['1e999', 'PAYLOAD_NONFINITE'],
    ['', 'PAYLOAD_INVALID'],
    ['0x10', 'PAYLOAD_INVALID'],
    ['1,5', 'PAYLOAD_INVALID'],
    ['12 13', 'PAYLOAD_INVALID'],
    ['{"value": 1}', 'PAYLOAD_INVALID'],
  ])('%j -> %s', (text, code) => {
    expect(codeOf('text', enc(text)).code).toBe(code);
  });
});

describe('byte cap', () => {
  it('is checked before parsing, for every format', () => {
    const big = enc('x'.repeat(100));
    for (const f of [
      'json-single',
      'json-multi',
      'json-block',
      'binary-frame',
      'sparkplug',
      'text',
    ] as const) {
      const e = codeOf(f, big, { ...opts, maxPayloadBytes: 99 });
      expect(e.code).toBe('PAYLOAD_TOO_LARGE');
      expect(e.message).toBe(
        'Expected a payload of at most 99 bytes (limits.maxPayloadBytes) but received 100 bytes',
      );
    }
  });

  it('accepts a payload of exactly the cap', () => {
    const bytes = enc('1.25');
    expect(
      decodePayload('text', bytes, { ...opts, maxPayloadBytes: 4 }).channels.get('value')!.values[0],
    ).toBe(1.25);
  });
});
