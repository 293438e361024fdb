import { describe, expect, it } from 'vitest';
import {
  compileAssetTemplate,
  compileTopicFilter,
  TopicRouter,
  unsafeAssetIdReason,
} from '../../agent/ingest/topic-match.js';

describe('topic filter matching', () => {
  it.each([
    ['plant/+/pump/+/vibration', 'plant/north/pump/7/vibration', ['north', '7']],
    ['plant/+/pump/+/vibration', 'plant/north/pump/7/temp', undefined],
    ['plant/+/pump/+/vibration', 'plant/north/pump/7/vibration/x', undefined],
    ['plant/+/pump/+/vibration', 'plant/north/pump/vibration', undefined],
    ['a/b', 'a/b', []],
    ['a/b', 'a/c', undefined],
    ['a/#', 'a/b/c', []],
    ['a/#', 'a', []],
    ['a/+/#', 'a/x/y/z', ['x']],
    ['#', 'anything/at/all', []],
    ['#', '$SYS/broker/load', undefined],
    ['+/status', '$SYS/status', undefined],
    ['$SYS/+', '$SYS/uptime', ['uptime']],
    ['a/+', 'a/', ['']],
    ['+', 'a/+', undefined],
  ])('%s vs %s', (filter, topic, want) => {
    expect(compileTopicFilter(filter).match(topic)).toEqual(want);
  });

  it.each(['', 'a/#/b', 'a/b#', 'a/+b', 'a+/b'])('rejects the filter %j', (filter) => {
    expect(() => compileTopicFilter(filter)).toThrow(
      expect.objectContaining({ code: 'INGEST_TOPIC_FILTER_INVALID' }),
    );
  });
});

describe('asset id templates', () => {
  const filter = compileTopicFilter('plant/+/pump/+/vibration');

  it('expands {n} with the n-th + capture', () => {
    expect(compileAssetTemplate('pump-{2}', filter).expand(['north', '7'])).toBe('pump-7');
    expect(compileAssetTemplate('{1}-{2}', filter).expand(['north', '7'])).toBe('north-7');
    expect(compileAssetTemplate('fixed', filter).expand(['north', '7'])).toBe('fixed');
  });

  it('refuses templates referring past the captures', () => {
    expect(() => compileAssetTemplate('pump-{3}', filter)).toThrow(
      expect.objectContaining({ code: 'INGEST_TOPIC_FILTER_INVALID' }),
    );
    expect(() => compileAssetTemplate('pump-{0}', filter)).toThrow();
    expect(() => compileAssetTemplate('a/{1}', filter)).toThrow(
      expect.objectContaining({ code: 'INGEST_TOPIC_FILTER_INVALID' }),
    );
  });

  it.each([
    ['empty capture', ['', '7']],
    ['dollar capture', ['$SYS', '7']],
    ['control character', ['a\u0001', '7']],
  ])('refuses unsafe captures: %s', (_name, captures) => {
    expect(() => compileAssetTemplate('{1}', filter).expand(captures)).toThrow(
      expect.objectContaining({ code: 'INGEST_UNSAFE_ASSET_ID' }),
    );
  });

  it('refuses ids that are path components or too long', () => {
    expect(() => compileAssetTemplate('{1}', filter).expand(['..', '7'])).toThrow(
      expect.objectContaining({ code: 'INGEST_UNSAFE_ASSET_ID' }),
    );
    expect(() => compileAssetTemplate('{1}', filter).expand(['x'.repeat(129), '7'])).toThrow(
      expect.objectContaining({ code: 'INGEST_UNSAFE_ASSET_ID' }),
    );
    expect(compileAssetTemplate('{1}', filter).expand(['x'.repeat(128), '7'])).toHaveLength(128);
  });

  it('says why an id is unsafe', () => {
    expect(unsafeAssetIdReason('a/b')).toBe("it contains '/', '+' or '#'");
    expect(unsafeAssetIdReason('a+b')).toBe("it contains '/', '+' or '#'");
    expect(unsafeAssetIdReason('')).toBe('it is empty');
    expect(unsafeAssetIdReason('pump-7')).toBeUndefined();
  });
});

describe('TopicRouter', () => {
  it('routes a topic to every matching input with its asset id', () => {
    const router = new TopicRouter<string>();
    router.add('plant/+/pump/+/vibration', 'pump-{2}', 'vib');
    router.add('plant/+/pump/+/#', '{1}-pump-{2}', 'all');
    router.add('spBv1.0/+/DDATA/+/+', '{3}', 'sparkplug');
    expect(router.route('plant/north/pump/7/vibration')).toEqual([
      { value: 'vib', assetId: 'pump-7' },
      { value: 'all', assetId: 'north-pump-7' },
    ]);
    expect(router.route('spBv1.0/g/DDATA/edge/press-2')).toEqual([
      { value: 'sparkplug', assetId: 'press-2' },
    ]);
    expect(router.route('other/topic')).toEqual([]);
    expect(() => router.route('plant//pump/7/vibration')).toThrow(
      expect.objectContaining({ code: 'INGEST_UNSAFE_ASSET_ID' }),
    );
  });
});
