// Binary frame for high-rate vibration (docs/binary-frame.md is the byte-for-byte contract).
//
//   encodeBinaryFrame(frame) -> Uint8Array    used by the simulator and tests
//   decodeBinaryFrame(bytes) -> BinaryFrame   raw frame, samples already scaled to physical units
//
// Layout: a 32-byte little-endian header followed by interleaved samples (sample t, channel c at
// index t*channels + c). Decoding throws PayloadError (PAYLOAD_INVALID / PAYLOAD_NONFINITE) only.

import { invalid, nonFinite, PayloadError } from './payload-error.js';

export const FRAME_MAGIC = 0x314c4756; // "VGL1" read as a little-endian u32
export const FRAME_VERSION = 1;
export const FRAME_HEADER_BYTES = 32;
export const SAMPLE_INT16 = 1;
export const SAMPLE_FLOAT32 = 2;

export type SampleType = 'int16' | 'float32';

export interface BinaryFrame {
  channelCount: number; // 1..255
  sampleType: SampleType;
  sampleRateHz: number; // > 0, finite
  /** Physical value = stored sample * scale (both sample types). */
  scale: number;
  /** Sender time of sample 0, ms since the Unix epoch; undefined when the header holds 0. */
  t0Ms?: number;
  samplesPerChannel: number;
  /** Interleaved physical values, length samplesPerChannel * channelCount. */
  samples: Float64Array;
}

export interface EncodeFrameInput {
  sampleType: SampleType;
  sampleRateHz: number;
  scale?: number; // default 1
  t0Ms?: number;
  /** One array of physical values per channel, all the same length. For int16 they are divided
   * by scale and rounded (half away from zero), then clamped to [-32768, 32767]. */
  channels: ArrayLike<number>[];
}

export function encodeBinaryFrame(input: EncodeFrameInput): Uint8Array {
  const channelCount = input.channels.length;
  if (channelCount < 1 || channelCount > 255) throw invalid('channels', '1..255 channels', channelCount);
  const n = input.channels[0].length;
  if (n < 1) throw invalid('channels/0', 'at least 1 sample', n);
  for (let c = 1; c < channelCount; c++) {
    if (input.channels[c].length !== n)
      throw invalid(`channels/${c}`, `${n} samples`, input.channels[c].length);
  }
  const scale = input.scale ?? 1;
  if (!Number.isFinite(scale) || scale === 0) throw invalid('scale', 'a finite non-zero number', scale);
  if (!(input.sampleRateHz > 0) || !Number.isFinite(input.sampleRateHz)) {
    throw invalid('sampleRateHz', 'a finite positive number', input.sampleRateHz);
  }
  const bytesPerSample = input.sampleType === 'int16' ? 2 : 4;
  const buf = new ArrayBuffer(FRAME_HEADER_BYTES + n * channelCount * bytesPerSample);
  const view = new DataView(buf);
  view.setUint32(0, FRAME_MAGIC, true);
  view.setUint8(4, FRAME_VERSION);
  view.setUint8(5, channelCount);
  view.setUint8(6, input.sampleType === 'int16' ? SAMPLE_INT16 : SAMPLE_FLOAT32);
  view.setUint8(7, 0); // flags: reserved
  view.setFloat32(8, input.sampleRateHz, true);
  view.setFloat32(12, scale, true);
  view.setFloat64(16, input.t0Ms ?? 0, true);
  view.setUint32(24, n, true);
  view.setUint32(28, 0, true); // reserved
  let off = FRAME_HEADER_BYTES;
  for (let t = 0; t < n; t++) {
    for (let c = 0; c < channelCount; c++) {
      const v = input.channels[c][t];
      if (input.sampleType === 'int16') {
        const q = Math.sign(v / scale) * Math.round(Math.abs(v / scale));
        view.setInt16(off, Math.max(-32768, Math.min(32767, q)), true);
        off += 2;
      } else {
        view.setFloat32(off, v / scale, true);
        off += 4;
      }
    }
  }
  return new Uint8Array(buf);
}

export function decodeBinaryFrame(bytes: Uint8Array): BinaryFrame {
  if (bytes.byteLength < FRAME_HEADER_BYTES) {
    throw invalid('header', `at least ${FRAME_HEADER_BYTES} bytes`, `${bytes.byteLength} bytes`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, true);
  if (magic !== FRAME_MAGIC)
    throw invalid('magic', '"VGL1" (0x56 0x47 0x4c 0x31)', `0x${magic.toString(16)}`);
  const version = view.getUint8(4);
  if (version !== FRAME_VERSION) throw invalid('version', `${FRAME_VERSION}`, version);
  const channelCount = view.getUint8(5);
  if (channelCount === 0) throw invalid('channelCount', '1..255', channelCount);
  const typeCode = view.getUint8(6);
  if (typeCode !== SAMPLE_INT16 && typeCode !== SAMPLE_FLOAT32) {
    throw invalid('sampleType', '1 (int16) or 2 (float32)', typeCode);
  }
  const flags = view.getUint8(7);
  if (flags !== 0) throw invalid('flags', '0 (reserved in version 1)', flags);
  const sampleRateHz = view.getFloat32(8, true);
  if (!Number.isFinite(sampleRateHz)) throw nonFinite('sampleRateHz', sampleRateHz);
  if (!(sampleRateHz > 0)) throw invalid('sampleRateHz', 'a positive number', sampleRateHz);
  const scale = view.getFloat32(12, true);
  if (!Number.isFinite(scale)) throw nonFinite('scale', scale);
  if (scale === 0) throw invalid('scale', 'a non-zero number', scale);
  const t0 = view.getFloat64(16, true);
  if (!Number.isFinite(t0)) throw nonFinite('t0Ms', t0);
  if (t0 < 0) throw invalid('t0Ms', 'ms since the epoch >= 0 (0 = absent)', t0);
  const samplesPerChannel = view.getUint32(24, true);
  if (samplesPerChannel === 0) throw invalid('samplesPerChannel', 'at least 1 sample', samplesPerChannel);
  const reserved = view.getUint32(28, true);
  if (reserved !== 0) throw invalid('reserved', '0', reserved);
  const bytesPerSample = typeCode === SAMPLE_INT16 ? 2 : 4;
  const total = samplesPerChannel * channelCount;
  const expectedBytes = FRAME_HEADER_BYTES + total * bytesPerSample;
  if (bytes.byteLength !== expectedBytes) {
    throw invalid(
      'samples',
      `${expectedBytes} bytes (${samplesPerChannel} samples x ${channelCount} channels)`,
      `${bytes.byteLength} bytes`,
    );
  }
  const samples = new Float64Array(total);
  let off = FRAME_HEADER_BYTES;
  if (typeCode === SAMPLE_INT16) {
    for (let i = 0; i < total; i++, off += 2) samples[i] = view.getInt16(off, true) * scale;
  } else {
    for (let i = 0; i < total; i++, off += 4) {
      const v = view.getFloat32(off, true) * scale;
      if (!Number.isFinite(v)) {
        throw nonFinite(`samples/${Math.floor(i / channelCount)}/${i % channelCount}`, v);
      }
      samples[i] = v;
    }
  }
  return {
    channelCount,
    sampleType: typeCode === SAMPLE_INT16 ? 'int16' : 'float32',
    sampleRateHz,
    scale,
    t0Ms: t0 === 0 ? undefined : t0,
    samplesPerChannel,
    samples,
  };
}

export { PayloadError };
