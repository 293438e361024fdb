import { describe, expect, it } from 'vitest';
import { decodeBinaryFrame, encodeBinaryFrame } from '../../agent/ingest/binary-frame.js';
import { decodePayload } from '../../agent/ingest/codecs/index.js';
import { PayloadError } from '../../agent/ingest/payload-error.js';

const opts = { maxPayloadBytes: 262144, maxSamples: 65536 };

// The worked example of docs/binary-frame.md, byte for byte.
const DOC_HEX =
  '56 47 4c 31 01 02 01 00 00 00 48 46 6f 12 83 3a 00 b0 47 2a e0 aa 79 42 03 00 00 00 00 00 00 00 ' +
  '01 00 e8 03 fe ff 18 fc f4 01 ff 7f';
const docBytes = () => Uint8Array.from(DOC_HEX.split(' ').map((h) => parseInt(h, 16)));
const f32 = Math.fround;

function errorOf(bytes: Uint8Array): PayloadError {
  try {
    decodeBinaryFrame(bytes);
  } catch (err) {
    expect(err).toBeInstanceOf(PayloadError);
    return err as PayloadError;
  }
  throw new Error('expected a PayloadError');
}

describe('binary frame VGL1', () => {
  it('encodes the documented example exactly', () => {
    const bytes = encodeBinaryFrame({
      sampleType: 'int16',
      sampleRateHz: 12800,
      scale: 0.001,
      t0Ms: 1763856000123,
      channels: [
        [0.001, -0.002, 0.5],
        [1, -1, 32.767],
      ],
    });
    expect([...bytes]).toEqual([...docBytes()]);
  });

  it('decodes the documented example', () => {
    const frame = decodeBinaryFrame(docBytes());
    expect(frame).toMatchObject({
      channelCount: 2,
      sampleType: 'int16',
      sampleRateHz: 12800,
      t0Ms: 1763856000123,
      samplesPerChannel: 3,
    });
    expect(frame.scale).toBe(f32(0.001));
    const s = f32(0.001);
    expect([...frame.samples]).toEqual([1 * s, 1000 * s, -2 * s, -1000 * s, 500 * s, 32767 * s]);
  });

  it('round-trips float32 frames (values exact at float32 precision) and absent t0', () => {
    const ax = [0.1, -2.5, 3.25, 1e-7];
    const ay = [100, 0, -0, 7.75];
    const frame = decodeBinaryFrame(
      encodeBinaryFrame({ sampleType: 'float32', sampleRateHz: 25600, channels: [ax, ay] }),
    );
    expect(frame.t0Ms).toBeUndefined();
    expect(frame.sampleType).toBe('float32');
    expect(frame.samplesPerChannel).toBe(4);
    const want: number[] = [];
    for (let t = 0; t < 4; t++) want.push(f32(ax[t]), f32(ay[t]));
    expect([...frame.samples]).toEqual(want);
  });

  it('clamps int16 and rounds half away from zero', () => {
    const frame = decodeBinaryFrame(
      encodeBinaryFrame({ sampleType: 'int16', sampleRateHz: 1, channels: [[1e9, -1e9, 2.5, -2.5]] }),
    );
    expect([...frame.samples]).toEqual([32767, -32768, 3, -3]);
  });

  it('names each channel by the model order in the codec', () => {
    const bytes = encodeBinaryFrame({
      sampleType: 'float32',
      sampleRateHz: 100,
      t0Ms: 5,
      channels: [
        [1, 2],
        [3, 4],
      ],
    });
    const d = decodePayload('binary-frame', bytes, { ...opts, channelNames: ['ax', 'ay'] });
    expect([...d.channels.get('ay')!.values]).toEqual([3, 4]);
    expect(d.channels.get('ax')).toMatchObject({ t0Ms: 5, rateHz: 100 });
    const unnamed = decodePayload('binary-frame', bytes, opts);
    expect([...unnamed.channels.keys()]).toEqual(['0', '1']);
  });

  function patched(write: (v: DataView) => void): Uint8Array {
    const b = docBytes();
    write(new DataView(b.buffer));
    return b;
  }

  it.each([
    ['short header', () => docBytes().slice(0, 31), 'header'],
    ['bad magic', () => patched((v) => v.setUint8(0, 0x57)), 'magic'],
    ['unknown version', () => patched((v) => v.setUint8(4, 2)), 'version'],
    ['zero channels', () => patched((v) => v.setUint8(5, 0)), 'channelCount'],
    ['unknown sample type', () => patched((v) => v.setUint8(6, 3)), 'sampleType'],
    ['flags set', () => patched((v) => v.setUint8(7, 1)), 'flags'],
    ['zero rate', () => patched((v) => v.setFloat32(8, 0, true)), 'sampleRateHz'],
    ['negative rate', () => patched((v) => v.setFloat32(8, -1, true)), 'sampleRateHz'],
    ['zero scale', () => patched((v) => v.setFloat32(12, 0, true)), 'scale'],
    ['negative t0', () => patched((v) => v.setFloat64(16, -5, true)), 't0Ms'],
    ['reserved set', () => patched((v) => v.setUint32(28, 9, true)), 'reserved'],
    ['truncated samples', () => docBytes().slice(0, 43), 'samples'],
    ['trailing bytes', () => Uint8Array.from([...docBytes(), 0, 0]), 'samples'],
    ['count mismatch', () => patched((v) => v.setUint32(24, 4, true)), 'samples'],
    ['no samples', () => patched((v) => v.setUint32(24, 0, true)).slice(0, 32), 'samplesPerChannel'],
  ])('rejects %s as PAYLOAD_INVALID (%s)', (_name, make, field) => {
    const e = errorOf(make());
    expect(e.code).toBe('PAYLOAD_INVALID');
    expect(e.field).toBe(field);
  });

  it.each([
    ['NaN rate', (v: DataView) => v.setFloat32(8, NaN, true), 'sampleRateHz'],
    ['infinite scale', (v: DataView) => v.setFloat32(12, Infinity, true), 'scale'],
    ['NaN t0', (v: DataView) => v.setFloat64(16, NaN, true), 't0Ms'],
  ])('rejects %s as PAYLOAD_NONFINITE', (_name, write, field) => {
    const e = errorOf(patched(write));
    expect(e.code).toBe('PAYLOAD_NONFINITE');
    expect(e.field).toBe(field);
  });

  it('rejects a NaN float32 sample naming sample and channel', () => {
    const bytes = encodeBinaryFrame({
      sampleType: 'float32',
      sampleRateHz: 10,
      channels: [
        [1, 2],
        [3, 4],
      ],
    });
    new DataView(bytes.buffer).setFloat32(32 + (1 * 2 + 1) * 4, NaN, true);
    const e = errorOf(bytes);
    expect(e.code).toBe('PAYLOAD_NONFINITE');
    expect(e.field).toBe('samples/1/1');
  });

  it('checks the sample limit from the header before allocating', () => {
    const bytes = docBytes();
    new DataView(bytes.buffer).setUint32(24, 0xffffffff, true); // claims 8.6e9 samples
    expect(() => decodePayload('binary-frame', bytes, { ...opts, maxSamples: 1000 })).toThrow(
      expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE', field: 'samples' }),
    );
    expect(() => decodePayload('binary-frame', docBytes(), { ...opts, maxSamples: 5 })).toThrow(
      expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE' }),
    );
  });

  it('decodes frames that sit at an odd offset inside a larger buffer (MQTT Buffer slices)', () => {
    const backing = new Uint8Array(3 + 44);
    backing.set(docBytes(), 3);
    const frame = decodeBinaryFrame(backing.subarray(3));
    expect(frame.samplesPerChannel).toBe(3);
    expect(frame.samples[5]).toBe(32767 * f32(0.001));
  });
});
