// Property tests: whatever arrives on a topic, a decoder either returns finite samples or throws a
// PayloadError with one of the three codes. Nothing else may escape (no TypeError, no RangeError).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBinaryFrame, encodeBinaryFrame } from '../../agent/ingest/binary-frame.js';
import { decodePayload, encodeSparkplug } from '../../agent/ingest/codecs/index.js';
import type { DecodedPayload } from '../../agent/ingest/decoded.js';
import { PayloadError } from '../../agent/ingest/payload-error.js';
import type { PayloadFormat } from '../../agent/config/types.js';

/** Longer runs: VIGIL_FUZZ_SCALE=50 npx vitest run test/unit/<this file> */
const SCALE = Math.max(1, Number(process.env.VIGIL_FUZZ_SCALE ?? 1));

const formats: PayloadFormat[] = [
  'json-single',
  'json-multi',
  'json-block',
  'binary-frame',
  'sparkplug',
  'text',
];
const opts = { maxPayloadBytes: 4096, maxSamples: 256, channelNames: ['ax', 'ay'] };
const CODES = new Set(['PAYLOAD_TOO_LARGE', 'PAYLOAD_INVALID', 'PAYLOAD_NONFINITE']);

function checkDecode(format: PayloadFormat, bytes: Uint8Array): void {
  let out: DecodedPayload;
  try {
    out = decodePayload(format, bytes, opts);
  } catch (err) {
    if (!(err instanceof PayloadError) || !CODES.has(err.code)) throw err;
    expect(err.message.length).toBeGreaterThan(0);
    return;
  }
  let total = 0;
  for (const ch of out.channels.values()) {
    total += ch.values.length;
    expect(ch.values.length).toBeGreaterThan(0);
    for (const v of ch.values) expect(Number.isFinite(v)).toBe(true);
    if (ch.timestampsMs) expect(ch.timestampsMs.length).toBe(ch.values.length);
    if (ch.rateHz !== undefined) expect(ch.rateHz).toBeGreaterThan(0);
  }
  expect(total).toBeLessThanOrEqual(opts.maxSamples);
}

const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

describe('decoders on arbitrary input', () => {
  it('arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.constantFrom(...formats), fc.uint8Array({ maxLength: 600 }), (format, bytes) =>
        checkDecode(format, bytes),
      ),
      { numRuns: 3000 * SCALE },
    );
  });

  it('arbitrary JSON values', () => {
    fc.assert(
      fc.property(fc.constantFrom(...formats), fc.jsonValue({ maxDepth: 4 }), (format, v) =>
        checkDecode(format, enc(v)),
      ),
      { numRuns: 2000 * SCALE },
    );
  });

  it('JSON shaped like the formats, with arbitrary field values', () => {
    const anyValue = fc.oneof(
      fc.double(),
      fc.constant(null),
      fc.boolean(),
      fc.string({ maxLength: 5 }),
      fc.array(fc.oneof(fc.double(), fc.constant(null), fc.string({ maxLength: 2 })), { maxLength: 300 }),
      fc.dictionary(fc.string({ maxLength: 3 }), fc.array(fc.double(), { maxLength: 150 }), { maxKeys: 3 }),
    );
    const shaped = fc.record(
      { ts: anyValue, t0: anyValue, rateHz: anyValue, value: anyValue, values: anyValue },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(
        fc.constantFrom<PayloadFormat>('json-single', 'json-multi', 'json-block'),
        shaped,
        (format, v) =>
          // JSON.stringify turns NaN/Infinity into null: the codec must still only throw coded errors
          checkDecode(format, enc(v)),
      ),
      { numRuns: 3000 * SCALE },
    );
  });

  it('binary frames with random byte corruption', () => {
    const frame = fc
      .record({
        int16: fc.boolean(),
        channels: fc.integer({ min: 1, max: 3 }),
        n: fc.integer({ min: 1, max: 40 }),
        seed: fc.double({ min: -100, max: 100, noNaN: true }),
      })
      .map(({ int16, channels, n, seed }) =>
        encodeBinaryFrame({
          sampleType: int16 ? 'int16' : 'float32',
          sampleRateHz: 12800,
          scale: 0.01,
          t0Ms: 1763856000123,
          channels: Array.from({ length: channels }, (_, c) =>
            Array.from({ length: n }, (_, i) => seed * (i + c)),
          ),
        }),
      );
    const edits = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 });
    fc.assert(
      fc.property(frame, edits, fc.nat({ max: 8 }), (bytes, changes, cut) => {
        const b = bytes.slice(0, Math.max(0, bytes.length - cut));
        for (const [pos, val] of changes) if (b.length > 0) b[pos % b.length] = val;
        checkDecode('binary-frame', b);
      }),
      { numRuns: 3000 * SCALE },
    );
  });

  it('binary frame float32 round trip is exact at float32 precision', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.array(fc.float({ noNaN: true, noDefaultInfinity: true }), { minLength: 3, maxLength: 3 }),
          {
            minLength: 1,
            maxLength: 4,
          },
        ),
        (channels) => {
          const f = decodeBinaryFrame(
            encodeBinaryFrame({ sampleType: 'float32', sampleRateHz: 1, channels }),
          );
          const C = channels.length;
          for (let c = 0; c < C; c++) {
            for (let t = 0; t < 3; t++) expect(Object.is(f.samples[t * C + c], channels[c][t])).toBe(true);
          }
        },
      ),
      { numRuns: 500 * SCALE },
    );
  });

  it('Sparkplug payloads with arbitrary metrics', () => {
    const metric = fc.record({
      name: fc.option(fc.string({ maxLength: 4 }), { nil: undefined }),
      alias: fc.option(fc.nat(5), { nil: undefined }),
      timestamp: fc.option(fc.nat(), { nil: undefined }),
      type: fc.constantFrom('Double', 'Float', 'Int32', 'Int64', 'UInt16', 'Boolean', 'String'),
      seed: fc.double(),
    });
    fc.assert(
      fc.property(fc.array(metric, { maxLength: 8 }), (ms) => {
        const metrics = ms.map((m) => ({
          name: m.name,
          alias: m.alias,
          timestamp: m.timestamp,
          type: m.type as 'Double',
          value:
            m.type === 'Boolean'
              ? m.seed > 0
              : m.type === 'String'
                ? String(m.seed)
                : m.type === 'Double' || m.type === 'Float'
                  ? m.seed
                  : Number.isFinite(m.seed)
                    ? Math.trunc(m.seed) % 30000
                    : 1,
        }));
        checkDecode('sparkplug', encodeSparkplug({ timestamp: 5, metrics }));
      }),
      { numRuns: 1000 * SCALE },
    );
  });
});
