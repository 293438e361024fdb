import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SCORING,
  EwmaSmoother,
  applySiteTransform,
  cholesky,
  componentScores,
  contributions,
  covariance,
  levelStatistic,
  mahalanobis2,
  mean,
  meanVector,
  quantile,
  scoreWindow,
  shrinkCovariance,
  stdPop,
  type ScoreStats,
} from '../../agent/diagnosis/anomaly-score.js';

describe('arithmetic', () => {
  it('mean and population std', () => {
    expect(mean([1, 2, 3, 4])).toBe(2.5);
    expect(stdPop([1, 2, 3, 4])).toBeCloseTo(Math.sqrt(1.25), 12);
    expect(stdPop([7])).toBe(0);
  });

  it('quantile interpolates between order statistics (numpy type 7)', () => {
    expect(quantile([4, 1, 3, 2], 0)).toBe(1);
    expect(quantile([4, 1, 3, 2], 1)).toBe(4);
    expect(quantile([4, 1, 3, 2], 0.5)).toBe(2.5);
    // h = 3 * 0.99 = 2.97: 3 + 0.97 * (4 - 3)
    expect(quantile([4, 1, 3, 2], 0.99)).toBeCloseTo(3.97, 12);
    expect(quantile([5], 0.9)).toBe(5);
    expect(() => quantile([], 0.5)).toThrow(expect.objectContaining({ code: 'ANOMALY_EMPTY' }));
    expect(() => quantile([1], 1.5)).toThrow(expect.objectContaining({ code: 'ANOMALY_PARAM' }));
  });

  it('mean vector, population covariance and shrinkage', () => {
    const rows = [
      [1, 2],
      [3, 6],
    ];
    const m = meanVector(rows);
    expect(m).toEqual([2, 4]);
    // deviations (-1,-2), (1,2): S = [[1,2],[2,4]]
    const s = covariance(rows, m);
    expect(s).toEqual([1, 2, 2, 4]);
    // l = 0.5, tr/d = 2.5: 0.5*S + 1.25*I
    expect(shrinkCovariance(s, 2, 0.5)).toEqual([1.75, 1, 1, 3.25]);
  });

  it('Cholesky factor and Mahalanobis distance', () => {
    const l = cholesky([4, 2, 2, 3], 2);
    expect(l[0]).toBe(2);
    expect(l[1]).toBe(0);
    expect(l[2]).toBe(1);
    expect(l[3]).toBeCloseTo(Math.SQRT2, 12);
    // A^-1 = 1/8 [[3,-2],[-2,4]]; x = (2,1): (12 - 8 + 4) / 8 = 1
    expect(mahalanobis2([2, 1], [0, 0], l)).toBeCloseTo(1, 12);
    expect(mahalanobis2([3, 1], [1, 0], l)).toBeCloseTo(1, 12);
    expect(() => cholesky([1, 1, 1, 1], 2)).toThrow(expect.objectContaining({ code: 'ANOMALY_SINGULAR' }));
  });
});

describe('site transform and level statistic', () => {
  it('standardizes against the site baseline; slow channels are centred on the window', () => {
    const t = { center: [10, 0], scale: [2, 0.5], slowness: [0.1, 0.9], slow: [false, true], clip: 3 };
    // rows (12, 1), (8, 3), (30, 2): channel 0 -> 1, -1, clip(10) = 3; channel 1 window mean 2 -> -2, 2, 0
    const u = applySiteTransform(t, [12, 1, 8, 3, 30, 2]);
    expect(Array.from(u)).toEqual([1, -2, -1, 2, 3, 0]);
    expect(() => applySiteTransform(t, [1, 2, 3])).toThrow(
      expect.objectContaining({ code: 'ANOMALY_SHAPE' }),
    );
  });

  it('averages the last rows of the window per channel', () => {
    expect(levelStatistic([1, 10, 2, 20, 4, 40], 2, 2)).toEqual([3, 30]);
    expect(levelStatistic([1, 10, 2, 20, 4, 40], 2, 9)).toEqual([7 / 3, 70 / 3]);
  });
});

describe('window score', () => {
  // 2 channels, channel 1 slow; d = 2 with identity covariance factor.
  const st: ScoreStats = {
    params: { ...DEFAULT_SCORING, levelWindow: 2, components: ['level', 'recon', 't2'] },
    slow: [false, true],
    levelMean: [0, 0],
    levelSd: [0.5, 1],
    reconMean: [1, 1],
    reconSd: [0.5, 0.5],
    embMean: [0, 0],
    embChol: [1, 0, 0, 1],
    thresholds: { level: 4, recon: 8, t2: 10 },
  };

  it('components: level over non-slow channels, positive recon z, T^2', () => {
    // level m = (1, 5): channel 0 ((1-0)/0.5)^2 = 4, channel 1 slow -> 0
    // recon e = (2, 0.5): z = (2, -1) -> (4, 0); t2 = 3^2 + 4^2 = 25
    const u = [0, 0, 1, 5, 1, 5];
    const cs = componentScores(st, u, {
      embedding: Float32Array.from([3, 4]),
      channelError: Float32Array.from([2, 0.5]),
    });
    expect(cs.levelByChannel).toEqual([4, 0]);
    expect(cs.reconByChannel).toEqual([4, 0]);
    expect(cs).toMatchObject({ level: 4, recon: 4, t2: 25 });
    const s = scoreWindow(
      st,
      u,
      { embedding: Float32Array.from([3, 4]), channelError: Float32Array.from([2, 0.5]) },
      ['a', 'b'],
    );
    expect(s.components).toEqual({ level: 1, recon: 0.5, t2: 2.5 });
    expect(s.score).toBe(2.5);
    // channel evidence: max(4/4, 4/8) = 1 for a, 0 for b
    expect(s.channels).toEqual([
      { name: 'a', contribution: 1 },
      { name: 'b', contribution: 0 },
    ]);
  });

  it('the score uses only the enabled components', () => {
    const only = { ...st, params: { ...st.params, components: ['level' as const] } };
    const s = scoreWindow(
      only,
      [0, 0, 1, 5, 1, 5],
      { embedding: Float32Array.from([3, 4]), channelError: Float32Array.from([2, 0.5]) },
      ['a', 'b'],
    );
    expect(s.score).toBe(1);
  });

  it('contributions sum to 1, and are equal shares without evidence', () => {
    const cs = { level: 0, recon: 0, t2: 0, levelByChannel: [2, 0, 1], reconByChannel: [0, 6, 0] };
    const st3 = { ...st, thresholds: { level: 2, recon: 3, t2: 1 } };
    const c = contributions(cs, st3, new Set(['level', 'recon'] as const), ['x', 'y', 'z']);
    // evidence 1, 2, 0.5 of 3.5
    expect(c.map((e) => e.contribution)).toEqual([1 / 3.5, 2 / 3.5, 0.5 / 3.5]);
    expect(c.reduce((a, e) => a + e.contribution, 0)).toBeCloseTo(1, 12);
    const none = contributions(
      { ...cs, levelByChannel: [0, 0, 0], reconByChannel: [0, 0, 0] },
      st3,
      new Set(['level'] as const),
      ['x', 'y', 'z'],
    );
    expect(none.map((e) => e.contribution)).toEqual([1 / 3, 1 / 3, 1 / 3]);
  });
});

describe('EwmaSmoother', () => {
  it('starts at the first value and weighs the newest by alpha', () => {
    const s = new EwmaSmoother(0.5);
    expect(s.current).toBeNull();
    expect(s.push(2)).toBe(2);
    expect(s.push(4)).toBe(3);
    expect(s.push(0)).toBe(1.5);
    s.reset();
    expect(s.push(8)).toBe(8);
    expect(() => new EwmaSmoother(0)).toThrow(expect.objectContaining({ code: 'ANOMALY_PARAM' }));
  });
});
