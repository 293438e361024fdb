// bindChannels: renames a decoded payload's channels to the model's channel names for one input.
//
//   input.channel  single-value formats: the payload's only channel feeds model channel `channel`
//                  (for multi-channel payloads, the channel with that name).
//   input.map      model channel -> payload key; keys absent from a message are simply absent
//                  (the assembler may hold them, see WindowPolicy.holdSamples). For binary-frame
//                  the key may be a channel index ("0", "1", ...).
//   neither        payload keys equal to model channel names are bound by name.
// `expected` lists the model channels this input is configured to feed: the assembler holds the
// last value of an expected channel missing from a reading. Payload keys feeding nothing are ignored.

import type { InputConfig } from '../config/types.js';
import type { ChannelSamples, DecodedPayload } from './decoded.js';
import { invalid } from './payload-error.js';

export interface BoundPayload {
  /** Model channel -> samples. */
  channels: Map<string, ChannelSamples>;
  /** Model channels this input feeds (present in the message or not). */
  expected: readonly string[];
}

/** Problems with an input's channel binding, for config cross-checks (empty when fine). */
export function inputBindingProblems(input: InputConfig, modelChannels: readonly string[]): string[] {
  const problems: string[] = [];
  const known = new Set(modelChannels);
  if (input.channel !== undefined && input.map !== undefined) {
    problems.push(`input ${input.topic}: give either channel or map, not both`);
  }
  if (input.channel !== undefined && !known.has(input.channel)) {
    problems.push(
      `input ${input.topic}: channel ${input.channel} is not a model channel (${modelChannels.join(', ')})`,
    );
  }
  for (const ch of Object.keys(input.map ?? {})) {
    if (!known.has(ch)) {
      problems.push(
        `input ${input.topic}: map key ${ch} is not a model channel (${modelChannels.join(', ')})`,
      );
    }
  }
  const single = input.format === 'json-single' || input.format === 'text';
  if (single && input.channel === undefined && modelChannels.length !== 1) {
    problems.push(`input ${input.topic}: format ${input.format} carries one value; set channel`);
  }
  return problems;
}

export function bindChannels(
  decoded: DecodedPayload,
  input: InputConfig,
  modelChannels: readonly string[],
): BoundPayload {
  const out = new Map<string, ChannelSamples>();
  if (input.format === 'binary-frame' && input.map === undefined && input.channel === undefined) {
    // Frames name channels by position: a different count means the sensor and the model disagree.
    if (decoded.channels.size !== modelChannels.length) {
      throw invalid(
        'channelCount',
        `${modelChannels.length} channels (model order: ${modelChannels.join(', ')})`,
        decoded.channels.size,
      );
    }
  }
  if (input.map !== undefined) {
    const expected = Object.keys(input.map).filter((c) => modelChannels.includes(c));
    const positional = input.format === 'binary-frame' ? [...decoded.channels.values()] : [];
    for (const ch of expected) {
      const key = input.map[ch];
      // binary-frame: map values may name frame channels by index ("0", "1", ...)
      const samples = decoded.channels.get(key) ?? (/^\d+$/.test(key) ? positional[Number(key)] : undefined);
      if (samples !== undefined) out.set(ch, samples);
    }
    if (out.size === 0) {
      throw invalid(
        'values',
        `one of the keys ${Object.values(input.map).join(', ')}`,
        [...decoded.channels.keys()].join(', '),
      );
    }
    return { channels: out, expected };
  }
  const single = input.channel ?? (modelChannels.length === 1 ? modelChannels[0] : undefined);
  if (single !== undefined && (decoded.channels.size === 1 || input.channel !== undefined)) {
    const samples =
      decoded.channels.size === 1 ? decoded.channels.values().next().value : decoded.channels.get(single);
    if (samples === undefined) {
      throw invalid(
        'values',
        `one channel or a channel named ${single}`,
        [...decoded.channels.keys()].join(', '),
      );
    }
    out.set(single, samples);
    return { channels: out, expected: [single] };
  }
  for (const ch of modelChannels) {
    const samples = decoded.channels.get(ch);
    if (samples !== undefined) out.set(ch, samples);
  }
  if (out.size === 0) {
    throw invalid(
      'values',
      `channels named ${modelChannels.join(', ')}`,
      [...decoded.channels.keys()].join(', '),
    );
  }
  return { channels: out, expected: modelChannels };
}
