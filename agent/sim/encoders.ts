// Payload encoders for simulated sample blocks, one per input format the agent decodes
// (agent/ingest/codecs/ are the decoders; test/unit/sim-encoders.test.ts round-trips each).
//
// A block is `count` samples of `channels` at `rateHz`, time-major, starting at t0Ms.
// - json-block:   one message {"t0", "rateHz", "values": [..]} (one channel) or {"values": {name: [..]}}
// - binary-frame: one VGL1 frame (docs/binary-frame.md), float32 or int16 with a scale
// - sparkplug:    one Sparkplug B DDATA payload, every sample a Float metric with its own timestamp
//                 (Sparkplug timestamps are whole ms: meaningful up to 1000 Hz)
// - json-multi:   one message per sample {"ts", "values": {name: x}}
// - json-single:  one message per sample {"ts", "value"} (exactly one channel)
// - text:         one message per sample "0.0123" (exactly one channel; no time, the agent stamps
//                 arrival time)
import type { PayloadFormat } from '../config/types.js';
import { encodeBinaryFrame } from '../ingest/binary-frame.js';
import { encodeSparkplug } from '../ingest/codecs/index.js';
import { SimError } from './faults.js';

export const SIM_FORMATS: readonly PayloadFormat[] = [
  'json-block',
  'json-single',
  'json-multi',
  'binary-frame',
  'sparkplug',
  'text',
];

/** Formats that send one message per sample (practical only at low rates). */
export const PER_SAMPLE_FORMATS: ReadonlySet<PayloadFormat> = new Set(['json-single', 'json-multi', 'text']);

export interface SampleBlock {
  t0Ms: number;
  rateHz: number;
  channels: readonly string[];
  /** time-major: sample t, channel c at [t * channels.length + c] */
  samples: Float32Array;
}

export interface EncodeOptions {
  /** binary-frame sample type; default float32 */
  sampleType?: 'float32' | 'int16';
  /** binary-frame int16 scale (physical = stored * scale); default 16 g full scale in m/s^2 */
  scale?: number;
  /** significant digits in JSON/text numbers; default 7 (float32 precision) */
  digits?: number;
}

const DEFAULT_INT16_SCALE = (16 * 9.80665) / 32767;

export function encodeBlock(
  format: PayloadFormat,
  block: SampleBlock,
  opts: EncodeOptions = {},
): Uint8Array[] {
  const nc = block.channels.length;
  if (nc < 1)
    throw new SimError('SIM_INVALID_OPTION', `Expected at least one channel for the block but received 0`);
  if (block.samples.length % nc !== 0) {
    throw new SimError(
      'SIM_INVALID_OPTION',
      `Expected a multiple of ${nc} samples for the block but received ${block.samples.length}`,
    );
  }
  const n = block.samples.length / nc;
  const digits = opts.digits ?? 7;
  const num = (v: number): number => Number(v.toPrecision(digits));
  const tsOf = (t: number): number => block.t0Ms + (t * 1000) / block.rateHz;
  const column = (c: number): number[] => {
    const out = new Array<number>(n);
    for (let t = 0; t < n; t++) out[t] = num(block.samples[t * nc + c]);
    return out;
  };
  const utf8 = (s: string): Uint8Array => Buffer.from(s, 'utf8');
  const single = (): void => {
    if (nc !== 1) {
      throw new SimError(
        'SIM_INVALID_OPTION',
        `Expected exactly 1 channel for format ${format} but received ${nc} (${block.channels.join(', ')})`,
      );
    }
  };

  switch (format) {
    case 'json-block': {
      const values =
        nc === 1 ? column(0) : Object.fromEntries(block.channels.map((name, c) => [name, column(c)]));
      return [utf8(JSON.stringify({ t0: block.t0Ms, rateHz: block.rateHz, values }))];
    }
    case 'binary-frame': {
      const channels = block.channels.map((_, c) => {
        const col = new Float64Array(n);
        for (let t = 0; t < n; t++) col[t] = block.samples[t * nc + c];
        return col;
      });
      const int16 = opts.sampleType === 'int16';
      return [
        encodeBinaryFrame({
          sampleType: int16 ? 'int16' : 'float32',
          sampleRateHz: block.rateHz,
          scale: int16 ? (opts.scale ?? DEFAULT_INT16_SCALE) : 1,
          t0Ms: block.t0Ms,
          channels,
        }),
      ];
    }
    case 'sparkplug': {
      const metrics = [];
      for (let t = 0; t < n; t++) {
        const timestamp = Math.round(tsOf(t));
        for (let c = 0; c < nc; c++)
          metrics.push({
            name: block.channels[c],
            type: 'Float' as const,
            value: block.samples[t * nc + c],
            timestamp,
          });
      }
      return [encodeSparkplug({ timestamp: Math.round(block.t0Ms), metrics })];
    }
    case 'json-multi': {
      const out: Uint8Array[] = [];
      for (let t = 0; t < n; t++) {
        const values: Record<string, number> = {};
        for (let c = 0; c < nc; c++) values[block.channels[c]] = num(block.samples[t * nc + c]);
        out.push(utf8(JSON.stringify({ ts: tsOf(t), values })));
      }
      return out;
    }
    case 'json-single': {
      single();
      const out: Uint8Array[] = [];
      for (let t = 0; t < n; t++)
        out.push(utf8(JSON.stringify({ ts: tsOf(t), value: num(block.samples[t]) })));
      return out;
    }
    case 'text': {
      single();
      const out: Uint8Array[] = [];
      for (let t = 0; t < n; t++) out.push(utf8(String(num(block.samples[t]))));
      return out;
    }
    default:
      throw new SimError(
        'SIM_INVALID_OPTION',
        `Expected format one of ${SIM_FORMATS.join(', ')} but received ${String(format)}`,
      );
  }
}

/** Sparkplug DBIRTH for a simulated device: declares its metrics (names, Float). */
export function encodeSparkplugBirth(channels: readonly string[], timestampMs: number): Uint8Array {
  return encodeSparkplug({
    timestamp: Math.round(timestampMs),
    metrics: channels.map((name) => ({
      name,
      type: 'Float' as const,
      value: 0,
      timestamp: Math.round(timestampMs),
    })),
  });
}
