import { describe, expect, it } from 'vitest';
import {
  accuracy,
  classMetrics,
  confusionMatrix,
  formatConfusion,
  simulateWindows,
  usedSeedRanges,
} from '../../agent/eval/sim.js';

describe('eval sim arithmetic (hand-made case)', () => {
  // 3 classes, 10 windows.
  const truth = [0, 0, 0, 0, 1, 1, 1, 2, 2, 2];
  const pred = [0, 0, 1, 0, 1, 1, 0, 2, 1, 2];
  const m = confusionMatrix(truth, pred, 3);

  it('counts the confusion matrix as [true][predicted]', () => {
    expect(m).toEqual([
      [3, 1, 0],
      [1, 2, 0],
      [0, 1, 2],
    ]);
    expect(accuracy(m)).toBeCloseTo(7 / 10, 12);
  });

  it('computes per-class precision, recall and f1', () => {
    const c = classMetrics(m, ['a', 'b', 'c']);
    // a: tp 3, predicted 4, support 4; b: tp 2, predicted 4, support 3; c: tp 2, predicted 2, support 3.
    expect(c[0]).toMatchObject({ label: 'a', support: 4, precision: 3 / 4, recall: 3 / 4 });
    expect(c[1]).toMatchObject({ label: 'b', support: 3, precision: 2 / 4, recall: 2 / 3 });
    expect(c[2]).toMatchObject({ label: 'c', support: 3, precision: 1, recall: 2 / 3 });
    expect(c[1].f1).toBeCloseTo((2 * 0.5 * (2 / 3)) / (0.5 + 2 / 3), 12);
  });

  it('leaves precision undefined for a class never predicted and recall for a class never seen', () => {
    const c = classMetrics(confusionMatrix([0, 0, 1], [0, 0, 0], 3), ['a', 'b', 'c']);
    expect(c[1]).toMatchObject({ precision: null, recall: 0, f1: 0 });
    expect(c[2]).toMatchObject({ support: 0, precision: null, recall: null, f1: null });
    expect(() => confusionMatrix([0, 3], [0, 0], 3)).toThrow(/out of range at 1/);
  });

  it('prints the matrix with labels', () => {
    expect(
      formatConfusion(
        [
          [1, 0],
          [2, 3],
        ],
        ['healthy', 'imbalance'],
      ).split('\n'),
    ).toEqual([
      'true \\ pred    healthy imbalance',
      'healthy              1         0',
      'imbalance            2         3',
    ]);
  });

  it('derives the seed ranges of the training splits and simulates balanced, reproducible windows', () => {
    expect(
      usedSeedRanges(
        { train: { seedBase: 100000, assetsPerClass: 10 }, val: { seedBase: 200000, assetsPerClass: 2 } },
        7,
      ),
    ).toEqual([
      [100000, 100070],
      [200000, 200014],
    ]);
    const opts = {
      labels: ['healthy', 'imbalance'] as ('healthy' | 'imbalance')[],
      count: 4,
      seedBase: 5,
      ranges: { rpm: [1700, 2100] as [number, number], severity: [0.5, 1] as [number, number] },
      windowLength: 256,
      sampleRateHz: 8192,
      axes: ['radial' as const],
    };
    const a = simulateWindows(opts);
    const b = simulateWindows(opts);
    expect(a.map((w) => w.label)).toEqual([0, 1, 0, 1]);
    expect(a.map((w) => w.seed)).toEqual([5, 6, 7, 8]);
    expect(a.every((w) => w.rpm >= 1700 && w.rpm < 2100 && w.x.length === 256)).toBe(true);
    expect(a[0].severity).toBe(0);
    expect(Array.from(a[1].x)).toEqual(Array.from(b[1].x));
  });
});
