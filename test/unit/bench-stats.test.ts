// The arithmetic behind `vigil bench`'s figures: nearest-rank percentiles, medians, ratios.
import { describe, expect, it } from 'vitest';
import { argmax, maxAbsDiff, median, percentile, speedup, summarize } from '../../agent/bench/stats.js';
import { benchHyperparameters, encoderMacs, parseSizes } from '../../agent/bench/bench-models.js';
import { tstDims } from '../../agent/model/tst-hyperparameters.js';

describe('median', () => {
  it('takes the middle sample, or the mean of the two middle ones', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
  });
  it('does not reorder the caller array', () => {
    const a = [3, 1, 2];
    median(a);
    expect(a).toEqual([3, 1, 2]);
  });
  it('refuses empty and non-finite input', () => {
    expect(() => median([])).toThrow(/at least one sample/);
    expect(() => median([1, NaN])).toThrow(/finite samples but received NaN at index 1/);
  });
});

describe('percentile (nearest rank)', () => {
  const ten = [10, 1, 9, 2, 8, 3, 7, 4, 6, 5];
  it('returns a real sample at rank ceil(p n / 100)', () => {
    expect(percentile(ten, 90)).toBe(9);
    expect(percentile(ten, 91)).toBe(10);
    expect(percentile(ten, 50)).toBe(5);
    expect(percentile(ten, 100)).toBe(10);
    expect(percentile(ten, 0)).toBe(1);
    expect(percentile([1, 2, 3], 90)).toBe(3);
  });
  it('refuses p outside [0, 100]', () => {
    expect(() => percentile(ten, 101)).toThrow(/p in \[0, 100\] but received 101/);
    expect(() => percentile(ten, -1)).toThrow(RangeError);
  });
});

describe('summarize', () => {
  it('gives n, median, p90, min and mean', () => {
    expect(summarize([10, 1, 9, 2, 8, 3, 7, 4, 6, 5])).toEqual({
      n: 10,
      medianUs: 5.5,
      p90Us: 9,
      minUs: 1,
      meanUs: 5.5,
    });
  });
});

describe('speedup', () => {
  it('is peer time over subject time', () => {
    expect(speedup(150, 30)).toBe(5);
    expect(speedup(100, 200)).toBe(0.5);
  });
  it('is null when a figure is missing or not positive', () => {
    expect(speedup(undefined, 3)).toBeNull();
    expect(speedup(3, 0)).toBeNull();
    expect(speedup(NaN, 1)).toBeNull();
    expect(speedup(Infinity, 1)).toBeNull();
  });
});

describe('maxAbsDiff / argmax', () => {
  it('compare outputs', () => {
    expect(maxAbsDiff([1, 2, 3], [1, 2.5, 2])).toBe(1);
    expect(() => maxAbsDiff([1], [1, 2])).toThrow(/equal lengths/);
    expect(argmax([0.1, 0.7, 0.7, 0.2])).toBe(1);
    expect(argmax([])).toBe(-1);
  });
});

describe('bench model sizes', () => {
  it('match the brief: layers, width, feed-forward, tokens and MACs', () => {
    const dims = (s: 'tiny' | 'mid' | 'large') => tstDims(benchHyperparameters(s));
    expect(dims('tiny')).toMatchObject({ L: 2, d: 64, F: 256, N: 64, K: 8 });
    expect(dims('mid')).toMatchObject({ L: 4, d: 128, F: 512, N: 128 });
    expect(dims('large')).toMatchObject({ L: 4, d: 256, F: 1024, N: 256 });
    // The brief's table: 7.3 M, 117 M, 940 M.
    expect(encoderMacs(benchHyperparameters('tiny')) / 1e6).toBeCloseTo(7.34, 2);
    expect(encoderMacs(benchHyperparameters('mid')) / 1e6).toBeCloseTo(117.4, 1);
    expect(encoderMacs(benchHyperparameters('large')) / 1e6).toBeCloseTo(939.5, 1);
  });
  it('parses --sizes', () => {
    expect(parseSizes('large, tiny,tiny')).toEqual(['large', 'tiny']);
    expect(() => parseSizes('tiny,huge')).toThrow(/among tiny, mid, large but received "huge"/);
    expect(() => parseSizes(' , ')).toThrow(/at least one size/);
    expect(parseSizes('none')).toEqual([]);
  });
});
