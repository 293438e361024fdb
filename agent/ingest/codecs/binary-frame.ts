// binary-frame codec: docs/binary-frame.md. Channel index c is named channelNames[c] (the model's
// channel order, passed by the caller) or "c" when no names are given.

import { decodeBinaryFrame } from '../binary-frame.js';
import type { ChannelSamples, DecodeOptions, DecodedPayload } from '../decoded.js';
import { checkSampleCount } from './json-common.js';

export function decodeBinaryFramePayload(bytes: Uint8Array, opts: DecodeOptions): DecodedPayload {
  // Check the sample count from the header before allocating the sample array.
  if (bytes.byteLength >= 28) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    checkSampleCount(view.getUint8(5) * view.getUint32(24, true), opts.maxSamples, 'samples');
  }
  const frame = decodeBinaryFrame(bytes);
  const channels = new Map<string, ChannelSamples>();
  const n = frame.samplesPerChannel;
  const C = frame.channelCount;
  for (let c = 0; c < C; c++) {
    const values = new Float64Array(n);
    for (let t = 0; t < n; t++) values[t] = frame.samples[t * C + c];
    const name = opts.channelNames?.[c] ?? String(c);
    channels.set(name, { values, t0Ms: frame.t0Ms, rateHz: frame.sampleRateHz });
  }
  return { channels };
}
