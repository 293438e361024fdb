// The ingest chain as the agent runs it, per format: route topic -> decode -> bind -> assemble.
import { describe, expect, it } from 'vitest';
import type { InputConfig } from '../../agent/config/types.js';
import { encodeBinaryFrame } from '../../agent/ingest/binary-frame.js';
import { bindChannels } from '../../agent/ingest/bind-channels.js';
import { decodePayload, encodeSparkplug } from '../../agent/ingest/codecs/index.js';
import { TopicRouter } from '../../agent/ingest/topic-match.js';
import {
  WindowAssembler,
  type AssembledWindow,
  type WindowSpec,
} from '../../agent/ingest/window-assembler.js';

const T0 = 1_763_856_000_000;

function chain(spec: WindowSpec, inputs: { input: InputConfig; asset: string }[], clock: { now: number }) {
  const router = new TopicRouter<InputConfig>();
  for (const { input, asset } of inputs) router.add(input.topic, asset, input);
  const assemblers = new Map<string, WindowAssembler>();
  return {
    assemblers,
    receive(topic: string, payload: Uint8Array): AssembledWindow[] {
      const out: AssembledWindow[] = [];
      for (const { value: input, assetId } of router.route(topic)) {
        const decoded = decodePayload(input.format, payload, {
          maxPayloadBytes: 1 << 20,
          maxSamples: 65536,
          channelNames: spec.channels,
        });
        const bound = bindChannels(decoded, input, spec.channels);
        let asm = assemblers.get(assetId);
        if (!asm) {
          asm = new WindowAssembler(assetId, spec, { clock: () => clock.now });
          assemblers.set(assetId, asm);
        }
        out.push(...asm.push(bound.channels, { expected: bound.expected }));
      }
      return out;
    },
  };
}

const col = (w: AssembledWindow, c: number, C: number) => Array.from(w.samples.filter((_, i) => i % C === c));

describe('ingest chain', () => {
  it('binary frames (int16, 3 channels) from two assets on one filter', () => {
    const spec: WindowSpec = {
      sampleRateHz: 12800,
      windowLength: 256,
      hop: 128,
      channels: ['ax', 'ay', 'az'],
    };
    const clock = { now: T0 };
    const c = chain(
      spec,
      [{ input: { topic: 'plant/+/vib/+', format: 'binary-frame' }, asset: '{1}-{2}' }],
      clock,
    );
    const out: AssembledWindow[] = [];
    for (let k = 0; k < 4; k++) {
      const n = 100;
      const channels = [0, 1, 2].map((ch) => Array.from({ length: n }, (_, i) => (ch + 1) * (k * n + i)));
      const frame = encodeBinaryFrame({
        sampleType: 'int16',
        sampleRateHz: 12800,
        scale: 1,
        t0Ms: T0 + (k * n * 1000) / 12800,
        channels,
      });
      out.push(...c.receive('plant/north/vib/m1', frame), ...c.receive('plant/south/vib/m2', frame));
    }
    // 400 samples: windows at 0 (needs slot 255 + reorder 128 = 383) only
    expect(out.map((w) => w.assetId)).toEqual(['north-m1', 'south-m2']);
    expect(col(out[0], 2, 3).slice(0, 4)).toEqual([0, 3, 6, 9]);
    expect(out[0].startMs).toBe(T0);
    expect(c.assemblers.get('north-m1')!.counters()).toMatchObject({ accepted: 1200, windows: 1, gaps: 0 });
  });

  it('JSON blocks per channel on separate topics, aligned into one window', () => {
    const spec: WindowSpec = { sampleRateHz: 100, windowLength: 4, hop: 4, channels: ['ax', 'ay'] };
    const clock = { now: T0 };
    const c = chain(
      spec,
      [
        { input: { topic: 'm/+/ax', format: 'json-block', channel: 'ax' }, asset: '{1}' },
        { input: { topic: 'm/+/ay', format: 'json-block', channel: 'ay' }, asset: '{1}' },
      ],
      clock,
    );
    const blk = (t0: number, values: number[]) =>
      new TextEncoder().encode(JSON.stringify({ t0, rateHz: 100, values }));
    expect(c.receive('m/p1/ax', blk(T0, [1, 2, 3, 4, 5, 6]))).toEqual([]);
    const w = c.receive('m/p1/ay', blk(T0, [-1, -2, -3, -4, -5, -6]));
    expect(w).toHaveLength(1);
    expect(Array.from(w[0].samples)).toEqual([1, -1, 2, -2, 3, -3, 4, -4]);
  });

  it('1 Hz pump: json-multi readings with a mapped key and a temperature on its own text topic', () => {
    const spec: WindowSpec = {
      sampleRateHz: 1,
      windowLength: 3,
      hop: 1,
      channels: ['current', 'pressure', 'temp'],
    };
    const clock = { now: T0 };
    const c = chain(
      spec,
      [
        {
          input: { topic: 'pump/+/r', format: 'json-multi', map: { current: 'I', pressure: 'P' } },
          asset: 'pump-{1}',
        },
        { input: { topic: 'pump/+/temp', format: 'text', channel: 'temp' }, asset: 'pump-{1}' },
      ],
      clock,
    );
    const out: AssembledWindow[] = [];
    for (let s = 0; s < 6; s++) {
      clock.now = T0 + s * 1000 + 120;
      const r = { ts: T0 + s * 1000, values: { I: 1 + s, P: 10 + s, extra: 0 } };
      out.push(...c.receive('pump/7/r', new TextEncoder().encode(JSON.stringify(r))));
      out.push(...c.receive('pump/7/temp', new TextEncoder().encode(String(60 + s))));
    }
    // readings carry sender time; the text temperature arrives 120 ms later and is stamped with arrival time
    // (same grid: origin is the first reading's ts), so all three channels line up. Slots 0..5:
    // windows [0..2] and [1..3]; [2..4] waits for slot 6 (reorderSamples = 2)
    expect(out.map((w) => col(w, 2, 3))).toEqual([
      [60, 61, 62],
      [61, 62, 63],
    ]);
    expect(col(out[0], 0, 3)).toEqual([1, 2, 3]);
    expect(c.assemblers.get('pump-7')!.counters()).toMatchObject({ held: 0, duplicates: 0, gaps: 0 });
  });

  it('Sparkplug DDATA with per-metric timestamps', () => {
    const spec: WindowSpec = { sampleRateHz: 1, windowLength: 2, hop: 2, channels: ['flow', 'temp'] };
    const clock = { now: T0 };
    const c = chain(
      spec,
      [{ input: { topic: 'spBv1.0/plant/DDATA/+/+', format: 'sparkplug' }, asset: '{2}' }],
      clock,
    );
    const out: AssembledWindow[] = [];
    for (let s = 0; s < 6; s++) {
      const payload = encodeSparkplug({
        timestamp: T0 + s * 1000,
        metrics: [
          { name: 'flow', type: 'Double', value: s / 2 },
          { name: 'temp', type: 'Float', value: 20 + s, timestamp: T0 + s * 1000 },
          { name: 'state', type: 'String', value: 'RUN' },
        ],
      });
      out.push(...c.receive('spBv1.0/plant/DDATA/edge1/pump-3', payload));
    }
    expect(out.map((w) => Array.from(w.samples))).toEqual([
      [0, 20, 0.5, 21],
      [1, 22, 1.5, 23],
    ]);
    expect(out[0].assetId).toBe('pump-3');
  });
});
