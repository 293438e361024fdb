// Hand-written JSON validation (the codec) vs ajv with docs/schemas/input-json-block.schema.json,
// for one 8192-sample block. Run: npx vitest bench --run test/unit/codec-json-validation.bench.ts
// Both sides include JSON.parse so the ratio is what an input actually pays per message.
import { readFileSync } from 'node:fs';
import { bench, describe } from 'vitest';
import { Ajv } from 'ajv';
import { decodePayload } from '../../agent/ingest/codecs/index.js';

const values = Array.from({ length: 8192 }, (_, i) => Math.round(Math.sin(i / 7) * 1e6) / 1e6);
const bytes = new TextEncoder().encode(JSON.stringify({ t0: 1763856000123, rateHz: 12800, values }));
const text = new TextDecoder().decode(bytes);
const validate = new Ajv().compile(
  JSON.parse(readFileSync('docs/schemas/input-json-block.schema.json', 'utf8')),
);
const opts = { maxPayloadBytes: 1 << 20, maxSamples: 65536 };

describe(`json-block, 8192 samples (${bytes.length} bytes)`, () => {
  bench('JSON.parse only (floor)', () => {
    JSON.parse(text);
  });
  bench('codec: hand-written validation + Float64Array', () => {
    decodePayload('json-block', bytes, opts);
  });
  bench('ajv validate + copy to Float64Array', () => {
    const doc = JSON.parse(new TextDecoder().decode(bytes)) as { values: number[] };
    if (!validate(doc)) throw new Error('invalid');
    Float64Array.from(doc.values);
  });
});
