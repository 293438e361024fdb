import { describe, expect, it } from 'vitest';
import { bindChannels, inputBindingProblems } from '../../agent/ingest/bind-channels.js';
import type { ChannelSamples, DecodedPayload } from '../../agent/ingest/decoded.js';
import type { InputConfig } from '../../agent/config/types.js';

const s = (v: number): ChannelSamples => ({ values: Float64Array.of(v) });
const decoded = (entries: [string, number][]): DecodedPayload => ({
  channels: new Map(entries.map(([k, v]) => [k, s(v)])),
});
const input = (extra: Partial<InputConfig>): InputConfig => ({ topic: 't', format: 'json-multi', ...extra });
const model = ['ax', 'ay', 'temp'];

describe('bindChannels', () => {
  it('binds a single-value payload to input.channel', () => {
    const b = bindChannels(decoded([['value', 1]]), input({ format: 'text', channel: 'temp' }), model);
    expect([...b.channels.keys()]).toEqual(['temp']);
    expect(b.expected).toEqual(['temp']);
  });

  it('binds by map (model channel -> payload key), missing keys absent but expected', () => {
    const b = bindChannels(
      decoded([
        ['X', 1],
        ['other', 9],
      ]),
      input({ map: { ax: 'X', ay: 'Y' } }),
      model,
    );
    expect([...b.channels.keys()]).toEqual(['ax']);
    expect(b.channels.get('ax')!.values[0]).toBe(1);
    expect(b.expected).toEqual(['ax', 'ay']);
  });

  it('binds by name when neither channel nor map is given', () => {
    const b = bindChannels(
      decoded([
        ['ay', 2],
        ['ax', 1],
        ['noise', 3],
      ]),
      input({}),
      model,
    );
    expect([...b.channels.keys()]).toEqual(['ax', 'ay']);
    expect(b.expected).toEqual(model);
  });

  it('picks the named channel from a multi-channel payload for input.channel', () => {
    const b = bindChannels(
      decoded([
        ['temp', 5],
        ['ax', 1],
      ]),
      input({ format: 'sparkplug', channel: 'temp' }),
      model,
    );
    expect(b.channels.get('temp')!.values[0]).toBe(5);
  });

  it('refuses a payload feeding nothing, naming what it received', () => {
    expect(() => bindChannels(decoded([['foo', 1]]), input({}), model)).toThrow(
      expect.objectContaining({ code: 'PAYLOAD_INVALID', message: expect.stringContaining('foo') }),
    );
    expect(() => bindChannels(decoded([['foo', 1]]), input({ map: { ax: 'X' } }), model)).toThrow(
      expect.objectContaining({ code: 'PAYLOAD_INVALID' }),
    );
  });

  it('refuses a binary frame whose channel count differs from the model', () => {
    const frame = decoded([
      ['ax', 1],
      ['ay', 2],
    ]);
    expect(() => bindChannels(frame, input({ format: 'binary-frame' }), model)).toThrow(
      expect.objectContaining({
        code: 'PAYLOAD_INVALID',
        message:
          'Expected 3 channels (model order: ax, ay, temp) for channelCount but received 2 of type number',
      }),
    );
    const b = bindChannels(frame, input({ format: 'binary-frame', map: { ay: 'ay' } }), model);
    expect([...b.channels.keys()]).toEqual(['ay']);
  });

  it('lets a map pick binary frame channels by index', () => {
    const frame = decoded([
      ['ax', 1],
      ['ay', 2],
      ['temp', 3],
    ]); // named by the model order, as the agent decodes frames
    const b = bindChannels(frame, input({ format: 'binary-frame', map: { ax: '2', temp: '0' } }), model);
    expect(b.channels.get('ax')!.values[0]).toBe(3);
    expect(b.channels.get('temp')!.values[0]).toBe(1);
    expect(() => bindChannels(frame, input({ format: 'json-multi', map: { ax: '2' } }), model)).toThrow(
      expect.objectContaining({ code: 'PAYLOAD_INVALID' }),
    );
  });

  it('reports binding problems for config cross-checks', () => {
    expect(inputBindingProblems(input({ format: 'text', channel: 'nope' }), model)).toEqual([
      'input t: channel nope is not a model channel (ax, ay, temp)',
    ]);
    expect(inputBindingProblems(input({ format: 'text' }), model)).toEqual([
      'input t: format text carries one value; set channel',
    ]);
    expect(inputBindingProblems(input({ map: { bogus: 'b' } }), model)).toHaveLength(1);
    expect(inputBindingProblems(input({ map: { ax: 'a' } }), model)).toEqual([]);
  });
});
