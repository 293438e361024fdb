import { describe, expect, it } from 'vitest';
import type { PayloadFormat } from '../../agent/config/types.js';
import { decodePayload } from '../../agent/ingest/codecs/index.js';
import { encodeBlock, SIM_FORMATS } from '../../agent/sim/encoders.js';
import { parseAssetSpec } from '../../agent/sim/asset-spec.js';

const opts = { maxPayloadBytes: 10_000_000, maxSamples: 1_000_000 };
const block = (channels: string[], n: number, rateHz = 100) => {
  const samples = new Float32Array(n * channels.length);
  for (let i = 0; i < samples.length; i++) samples[i] = Math.sin(i * 0.7) * 3.25 + (i % 3) * 1e-3;
  return { t0Ms: 1763856000123, rateHz, channels, samples };
};

describe('simulator encoders round-trip through the agent decoders', () => {
  it.each(SIM_FORMATS.map((f) => [f]))('%s, one channel', (format: PayloadFormat) => {
    const b = block(['accel'], 8);
    const msgs = encodeBlock(format, b);
    const perSample = format === 'json-single' || format === 'json-multi' || format === 'text';
    expect(msgs.length).toBe(perSample ? 8 : 1);
    const values: number[] = [];
    const times: number[] = [];
    for (const m of msgs) {
      const d = decodePayload(format, m, { ...opts, channelNames: ['accel'] });
      expect(d.channels.size).toBe(1);
      const [ch] = [...d.channels.values()];
      values.push(...ch.values);
      if (ch.timestampsMs) times.push(...ch.timestampsMs);
      else if (ch.t0Ms !== undefined) expect(ch.t0Ms).toBe(b.t0Ms);
      if (ch.rateHz !== undefined) expect(ch.rateHz).toBe(100);
    }
    expect(values.length).toBe(8);
    for (let i = 0; i < 8; i++) expect(values[i]).toBeCloseTo(b.samples[i], 5);
    if (format === 'json-single' || format === 'json-multi')
      expect(times).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((i) => b.t0Ms + i * 10));
    if (format === 'sparkplug') expect(times[7]).toBe(b.t0Ms + 70);
  });

  it.each([['json-block'], ['binary-frame'], ['sparkplug'], ['json-multi']] as const)(
    '%s, two channels by name',
    (format) => {
      const b = block(['accel', 'axial'], 5);
      const got = new Map<string, number[]>();
      for (const m of encodeBlock(format, b)) {
        for (const [name, ch] of decodePayload(format, m, { ...opts, channelNames: ['accel', 'axial'] })
          .channels) {
          got.set(name, [...(got.get(name) ?? []), ...ch.values]);
        }
      }
      expect([...got.keys()].sort()).toEqual(['accel', 'axial']);
      for (let t = 0; t < 5; t++) {
        expect(got.get('accel')![t]).toBeCloseTo(b.samples[t * 2], 5);
        expect(got.get('axial')![t]).toBeCloseTo(b.samples[t * 2 + 1], 5);
      }
    },
  );

  it('binary-frame int16 quantizes with the given scale', () => {
    const b = block(['accel'], 4);
    const [m] = encodeBlock('binary-frame', b, { sampleType: 'int16', scale: 0.01 });
    expect(m.byteLength).toBe(32 + 4 * 2);
    const d = decodePayload('binary-frame', m, { ...opts, channelNames: ['accel'] });
    const v = [...d.channels.values()][0].values;
    for (let i = 0; i < 4; i++) expect(Math.abs(v[i] - b.samples[i])).toBeLessThanOrEqual(0.005 + 1e-6);
  });

  it('refuses per-sample single-channel formats for two channels', () => {
    expect(() => encodeBlock('text', block(['a', 'b'], 2))).toThrow(/exactly 1 channel for format text/);
    expect(() => encodeBlock('json-single', block(['a', 'b'], 2))).toThrow(/exactly 1 channel/);
  });
});

describe('asset spec', () => {
  it('parses id:fault[:severity[:rpm]] lists', () => {
    expect(
      parseAssetSpec('fan-1:healthy, pump-2:bearing_outer:0.8,m3:imbalance:0.5:1800,x:looseness'),
    ).toEqual([
      { id: 'fan-1', fault: 'healthy', severity: 0 },
      { id: 'pump-2', fault: 'bearing_outer', severity: 0.8 },
      { id: 'm3', fault: 'imbalance', severity: 0.5, rpm: 1800 },
      { id: 'x', fault: 'looseness', severity: 0.7 },
    ]);
    expect(parseAssetSpec('solo')).toEqual([{ id: 'solo', fault: 'healthy', severity: 0 }]);
  });

  it('names the bad part', () => {
    expect(() => parseAssetSpec('p:rust')).toThrow(/fault of healthy\|imbalance.*received "rust"/);
    expect(() => parseAssetSpec('p:imbalance:2')).toThrow(
      /severity in \[0, 1\] for asset p but received "2"/,
    );
    expect(() => parseAssetSpec('p:imbalance:x')).toThrow(/severity/);
    expect(() => parseAssetSpec('p q:healthy')).toThrow(/asset id/);
    expect(() => parseAssetSpec('p:healthy:0.5')).toThrow(/no severity/);
    expect(() => parseAssetSpec('p:imbalance:0.5:5')).toThrow(/rpm/);
    expect(() => parseAssetSpec(' , ')).toThrow(/at least one asset/);
    try {
      parseAssetSpec('p:rust');
    } catch (e) {
      expect((e as { code: string }).code).toBe('SIM_INVALID_SPEC');
    }
  });
});
