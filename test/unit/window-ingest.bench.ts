// Ingest cost per message at vibration rates: decode + bind + assemble, 3 channels x 8192 samples.
// Run: npx vitest bench --run test/unit/window-ingest.bench.ts
import { bench, describe } from 'vitest';
import { encodeBinaryFrame } from '../../agent/ingest/binary-frame.js';
import { bindChannels } from '../../agent/ingest/bind-channels.js';
import { decodePayload } from '../../agent/ingest/codecs/index.js';
import { WindowAssembler } from '../../agent/ingest/window-assembler.js';

const N = 8192;
const RATE = 12800;
const channels = ['ax', 'ay', 'az'];
const data = channels.map((_, c) => Array.from({ length: N }, (_, i) => Math.sin((i + c) / 9)));
const T0 = 1_763_856_000_000;
const periodMs = 1000 / RATE;
const frames = Array.from({ length: 64 }, (_, k) =>
  encodeBinaryFrame({
    sampleType: 'int16',
    sampleRateHz: RATE,
    scale: 1 / 32767,
    t0Ms: T0 + k * N * periodMs,
    channels: data,
  }),
);
const blocks = Array.from({ length: 64 }, (_, k) =>
  new TextEncoder().encode(
    JSON.stringify({
      t0: T0 + k * N * periodMs,
      rateHz: RATE,
      values: Object.fromEntries(channels.map((c, i) => [c, data[i]])),
    }),
  ),
);
const opts = { maxPayloadBytes: 1 << 22, maxSamples: 65536, channelNames: channels };
const input = { topic: 't', format: 'binary-frame' as const };
const spec = { sampleRateHz: RATE, windowLength: 8192, hop: 4096, channels };

describe('ingest, 3 x 8192 samples per message', () => {
  let a = new WindowAssembler('x', spec, { clock: () => T0 });
  let k = 0;
  bench('binary-frame int16: decode only', () => {
    decodePayload('binary-frame', frames[0], opts);
  });
  bench('binary-frame int16: decode + bind + assemble', () => {
    if (k === frames.length) {
      a = new WindowAssembler('x', spec, { clock: () => T0 });
      k = 0;
    }
    const d = decodePayload('binary-frame', frames[k++], opts);
    a.push(bindChannels(d, input, channels).channels);
  });
  let b = new WindowAssembler('x', spec, { clock: () => T0 });
  let j = 0;
  bench('json-block multi: decode + bind + assemble', () => {
    if (j === blocks.length) {
      b = new WindowAssembler('x', spec, { clock: () => T0 });
      j = 0;
    }
    const d = decodePayload('json-block', blocks[j++], opts);
    b.push(bindChannels(d, { topic: 't', format: 'json-block' }, channels).channels);
  });
});
