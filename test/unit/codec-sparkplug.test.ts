import { describe, expect, it } from 'vitest';
import {
  decodePayload,
  encodeSparkplug,
  isSparkplugDataTopic,
  parseSparkplugTopic,
  sparkplugBirthAliases,
} from '../../agent/ingest/codecs/index.js';
import { PayloadError } from '../../agent/ingest/payload-error.js';

const opts = { maxPayloadBytes: 262144, maxSamples: 1000 };

describe('sparkplug codec', () => {
  it('decodes numeric metrics by name with metric or payload timestamps', () => {
    const bytes = encodeSparkplug({
      timestamp: 1763856000000,
      seq: 4,
      metrics: [
        { name: 'vib/ax', type: 'Double', value: 0.25, timestamp: 1763856000100 },
        { name: 'temp', type: 'Float', value: 61.5 },
        { name: 'count', type: 'Int64', value: 12 },
        { name: 'label', type: 'String', value: 'hello' },
        { name: 'running', type: 'Boolean', value: true },
        { name: 'gone', type: 'Double', value: null, isNull: true },
      ],
    });
    const d = decodePayload('sparkplug', bytes, opts);
    expect([...d.channels.keys()]).toEqual(['vib/ax', 'temp', 'count']);
    expect([...d.channels.get('vib/ax')!.values]).toEqual([0.25]);
    expect([...d.channels.get('vib/ax')!.timestampsMs!]).toEqual([1763856000100]);
    expect([...d.channels.get('temp')!.timestampsMs!]).toEqual([1763856000000]);
    expect(d.channels.get('count')!.values[0]).toBe(12);
  });

  it('restores the sign of negative integer metrics', () => {
    const bytes = encodeSparkplug({
      metrics: [
        { name: 'i8', type: 'Int8', value: -5 },
        { name: 'i16', type: 'Int16', value: -300 },
        { name: 'i32', type: 'Int32', value: -70000 },
        { name: 'i64', type: 'Int64', value: -9 },
        { name: 'u32', type: 'UInt32', value: 4000000000 },
      ],
    });
    const d = decodePayload('sparkplug', bytes, opts);
    const v = (k: string) => d.channels.get(k)!.values[0];
    expect([v('i8'), v('i16'), v('i32'), v('i64'), v('u32')]).toEqual([-5, -300, -70000, -9, 4000000000]);
    expect(d.channels.get('i8')!.timestampsMs).toBeUndefined();
  });

  it('batches repeated metrics into readings with their own timestamps', () => {
    const bytes = encodeSparkplug({
      metrics: [
        { name: 'ax', type: 'Float', value: 1, timestamp: 1000 },
        { name: 'ax', type: 'Float', value: 2, timestamp: 2000 },
      ],
    });
    const ax = decodePayload('sparkplug', bytes, opts).channels.get('ax')!;
    expect([...ax.values]).toEqual([1, 2]);
    expect([...ax.timestampsMs!]).toEqual([1000, 2000]);
  });

  it('rejects a batched metric without per-value timestamps', () => {
    const bytes = encodeSparkplug({
      metrics: [
        { name: 'ax', type: 'Float', value: 1 },
        { name: 'ax', type: 'Float', value: 2 },
      ],
    });
    expect(() => decodePayload('sparkplug', bytes, opts)).toThrow(
      expect.objectContaining({ code: 'PAYLOAD_INVALID' }),
    );
  });

  it('resolves aliases learned from the BIRTH', () => {
    const birth = encodeSparkplug({
      metrics: [
        { name: 'ax', alias: 1, type: 'Double', value: 0 },
        { name: 'ay', alias: 2, type: 'Double', value: 0 },
      ],
    });
    const aliases = sparkplugBirthAliases(birth);
    expect([...aliases]).toEqual([
      ['1', 'ax'],
      ['2', 'ay'],
    ]);
    const data = encodeSparkplug({
      timestamp: 5,
      metrics: [
        { alias: 2, type: 'Double', value: 7 },
        { alias: 9, type: 'Double', value: 8 },
      ],
    });
    const d = decodePayload('sparkplug', data, { ...opts, sparkplugAliases: aliases });
    expect([...d.channels.keys()]).toEqual(['ay']);
    expect(decodePayload('sparkplug', data, opts).channels.size).toBe(0);
  });

  it('rejects NaN and Infinity metric values', () => {
    for (const value of [NaN, Infinity]) {
      const bytes = encodeSparkplug({ metrics: [{ name: 'ax', type: 'Double', value }] });
      try {
        decodePayload('sparkplug', bytes, opts);
        throw new Error('expected a PayloadError');
      } catch (err) {
        expect(err).toBeInstanceOf(PayloadError);
        expect((err as PayloadError).code).toBe('PAYLOAD_NONFINITE');
        expect((err as PayloadError).field).toBe('metrics/0(ax)');
      }
    }
  });

  it('rejects garbage as PAYLOAD_INVALID and enforces the sample limit', () => {
    expect(() => decodePayload('sparkplug', new TextEncoder().encode('garbage!!'), opts)).toThrow(
      expect.objectContaining({ code: 'PAYLOAD_INVALID' }),
    );
    const many = encodeSparkplug({
      metrics: Array.from({ length: 4 }, (_, i) => ({ name: `m${i}`, type: 'Double' as const, value: i })),
    });
    expect(() => decodePayload('sparkplug', many, { ...opts, maxSamples: 3 })).toThrow(
      expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE' }),
    );
  });

  it('parses Sparkplug topics', () => {
    expect(parseSparkplugTopic('spBv1.0/plant1/DDATA/edge-1/pump-7')).toEqual({
      group: 'plant1',
      messageType: 'DDATA',
      node: 'edge-1',
      device: 'pump-7',
    });
    expect(parseSparkplugTopic('spBv1.0/plant1/NDATA/edge-1')).toMatchObject({
      messageType: 'NDATA',
      device: undefined,
    });
    expect(isSparkplugDataTopic('spBv1.0/plant1/DBIRTH/edge-1/pump-7')).toBe(false);
    expect(isSparkplugDataTopic('spBv1.0/plant1/NDATA/edge-1')).toBe(true);
    expect(parseSparkplugTopic('spAv1.0/g/DDATA/n/d')).toBeUndefined();
    expect(parseSparkplugTopic('spBv1.0//DDATA/n')).toBeUndefined();
    expect(parseSparkplugTopic('spBv1.0/g/DDATA/n/d/extra')).toBeUndefined();
  });
});
