// The one shape every payload codec produces (agent/ingest/codecs/*), before channels are bound
// to the model's names (bind-channels.ts) and assembled into windows (window-assembler.ts).

/** Samples of one channel from one message. All values are finite (codecs reject the rest). */
export interface ChannelSamples {
  values: Float64Array;
  /** Sender time of values[0], ms since the Unix epoch; absent when the sender gave none. */
  t0Ms?: number;
  /** Sample rate of a block (values[i] is at t0Ms + i*1000/rateHz). Absent for readings. */
  rateHz?: number;
  /** Per-sample sender times for readings (same length as values); absent for blocks. */
  timestampsMs?: Float64Array;
}

export interface DecodedPayload {
  /** Keyed by the payload's own channel names (JSON keys, Sparkplug metric names,
   * binary-frame channel names from DecodeOptions.channelNames, or SINGLE_CHANNEL). */
  channels: Map<string, ChannelSamples>;
}

/** Key used by single-channel formats (json-single, text, json-block with an array). */
export const SINGLE_CHANNEL = 'value';

export interface DecodeOptions {
  /** Checked before any parsing (config limits.maxPayloadBytes). */
  maxPayloadBytes: number;
  /** Most samples one message may carry, summed over its channels. */
  maxSamples: number;
  /** binary-frame: names for channel indexes 0..n-1 (the model's channel order); default "0".."n-1". */
  channelNames?: readonly string[];
}

export const DEFAULT_MAX_SAMPLES = 65536;
