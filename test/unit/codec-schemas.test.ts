// The JSON Schemas in docs/schemas/input-*.schema.json document the JSON input formats; the codecs
// validate by hand (faster errors naming the exact sample). This pins that both agree.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Ajv } from 'ajv';
import { decodePayload } from '../../agent/ingest/codecs/index.js';
import type { PayloadFormat } from '../../agent/config/types.js';

const ajv = new Ajv({ allErrors: false, strict: true });
const opts = { maxPayloadBytes: 1 << 20, maxSamples: 100000 };

function schema(format: string) {
  return JSON.parse(readFileSync(`docs/schemas/input-${format}.schema.json`, 'utf8')) as {
    examples: unknown[];
  };
}

const cases: Record<string, string[]> = {
  'json-single': [
    '{"ts": 1763856000123, "value": 0.0123}',
    '{"value": -1, "unit": "g"}',
    '{"value": null}',
    '{"value": "1"}',
    '{"ts": -1, "value": 1}',
    '{"ts": "1", "value": 1}',
    '{}',
    '[]',
    '1',
    '{"value": 1e400}',
  ],
  'json-multi': [
    '{"ts": 5, "values": {"ax": 1, "ay": 2}}',
    '{"values": {"ax": 1}}',
    '{"values": {}}',
    '{"values": {"ax": true}}',
    '{"values": {"ax": [1]}}',
    '{"values": [1, 2]}',
    '{"ts": null, "values": {"a": 1}}',
  ],
  'json-block': [
    '{"t0": 1, "rateHz": 100, "values": [1, 2, 3]}',
    '{"rateHz": 0.5, "values": {"ax": [1], "ay": [2]}}',
    '{"rateHz": 0, "values": [1]}',
    '{"values": [1]}',
    '{"rateHz": 100, "values": []}',
    '{"rateHz": 100, "values": [1, null]}',
    '{"rateHz": 100, "values": {"ax": []}}',
    '{"rateHz": 100, "values": {}}',
    '{"rateHz": 100, "values": "1,2"}',
    '{"rateHz": 100, "values": [1e400]}',
  ],
};

describe('input JSON Schemas agree with the codecs', () => {
  for (const [format, payloads] of Object.entries(cases)) {
    const s = schema(format);
    const validate = ajv.compile(s);

    it(`${format}: the schema's examples decode`, () => {
      expect(s.examples.length).toBeGreaterThan(0);
      for (const ex of s.examples) {
        expect(validate(ex)).toBe(true);
        expect(() =>
          decodePayload(format as PayloadFormat, new TextEncoder().encode(JSON.stringify(ex)), opts),
        ).not.toThrow();
      }
    });

    it.each(payloads)(`${format}: %s`, (text) => {
      let codecOk = true;
      try {
        decodePayload(format as PayloadFormat, new TextEncoder().encode(text), opts);
      } catch {
        codecOk = false;
      }
      expect(validate(JSON.parse(text))).toBe(codecOk);
    });
  }
});
