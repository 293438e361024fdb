import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseSkabCsv, selectChannels, listCsvFiles } from '../../agent/eval/csv.js';
import {
  addConfusion,
  confusionOf,
  detectionMetrics,
  loadSkabDir,
  runSkabProtocol,
  scoreSkabFile,
  BASELINE_ROWS,
} from '../../agent/eval/skab.js';
import type { ScoreHeads } from '../../agent/diagnosis/anomaly-score.js';
import { SKAB_CHANNELS } from '../fixtures/skab/channels.js';

const FIX = fileURLToPath(new URL('../fixtures/skab/', import.meta.url));
const CHANNELS = SKAB_CHANNELS;

describe('detection arithmetic', () => {
  it('F1, FAR and MAR of a hand-made confusion', () => {
    // truth 1 1 1 1 1 0 0 0 0 0, pred 1 1 1 0 0 1 0 0 0 0: tp 3, fn 2, fp 1, tn 4
    const c = confusionOf([1, 1, 1, 0, 0, 1, 0, 0, 0, 0], [1, 1, 1, 1, 1, 0, 0, 0, 0, 0]);
    expect(c).toEqual({ tp: 3, fp: 1, tn: 4, fn: 2 });
    const m = detectionMetrics(c);
    expect(m.precision).toBe(0.75);
    expect(m.recall).toBe(0.6);
    expect(m.f1).toBeCloseTo((2 * 0.75 * 0.6) / 1.35, 12); // 2/3
    expect(m.far).toBe(0.2); // 1 / (1 + 4)
    expect(m.mar).toBe(0.4); // 2 / (2 + 3)
    expect(m.rows).toBe(10);
  });

  it('totals add confusions (one classification over all files), not per-file ratios', () => {
    const a = { tp: 10, fp: 0, tn: 0, fn: 0 };
    const b = { tp: 0, fp: 5, tn: 5, fn: 10 };
    const m = detectionMetrics(addConfusion(a, b));
    expect(m).toMatchObject({ tp: 10, fp: 5, tn: 5, fn: 10, far: 0.5, mar: 0.5 });
    expect(m.f1).toBeCloseTo((2 * (10 / 15) * 0.5) / (10 / 15 + 0.5), 12);
  });

  it('empty denominators give 0, never NaN', () => {
    expect(detectionMetrics({ tp: 0, fp: 0, tn: 3, fn: 0 })).toMatchObject({
      f1: 0,
      precision: 0,
      recall: 0,
      far: 0,
      mar: 0,
    });
    expect(() => confusionOf([1], [1, 0])).toThrow(RangeError);
  });
});

describe('SKAB CSV reader', () => {
  it('parses channels, labels and reorders columns', () => {
    const t = parseSkabCsv(
      'datetime;b;a;anomaly;changepoint\n2020-01-01 00:00:00;1;2;0.0;0\n2020-01-01 00:00:01;3;4;1.0;1\n',
    );
    expect(t.channels).toEqual(['b', 'a']);
    expect(t.rows).toBe(2);
    expect(Array.from(t.values)).toEqual([1, 2, 3, 4]);
    expect(Array.from(t.anomaly!)).toEqual([0, 1]);
    expect(Array.from(t.changepoint!)).toEqual([0, 1]);
    expect(Array.from(selectChannels(t, ['a', 'b']))).toEqual([2, 1, 4, 3]);
    expect(() => selectChannels(t, ['c'], 'f.csv')).toThrow(
      expect.objectContaining({ code: 'EVAL_CSV_CHANNELS' }),
    );
  });

  it('names the line and column of a bad value', () => {
    expect(() => parseSkabCsv('datetime;a\nx;1\ny;oops\n', 'f.csv')).toThrow(
      'f.csv:3: column a: expected a finite number but received "oops"',
    );
    expect(() => parseSkabCsv('time;a\n', 'f.csv')).toThrow(/expected the first column "datetime"/);
    expect(() => parseSkabCsv('datetime;a;b\nx;1\n', 'f.csv')).toThrow(
      /f\.csv:2: expected 3 fields but received 2/,
    );
  });

  it('reads the fixture files; the unlabeled anomaly-free file is skipped with its reason', () => {
    const t = parseSkabCsv(readFileSync(`${FIX}valve1/0.csv`, 'utf8'));
    expect(t.channels).toEqual(CHANNELS);
    expect(t.rows).toBe(1147);
    expect(listCsvFiles(FIX).map((p) => p.slice(FIX.length))).toEqual([
      'anomaly-free/anomaly-free.csv',
      'valve1/0.csv',
      'valve2/0.csv',
    ]);
    const { files, skipped } = loadSkabDir(FIX, CHANNELS);
    expect(files.map((f) => f.file)).toEqual(['valve1/0.csv', 'valve2/0.csv']);
    expect(skipped).toEqual([{ file: 'anomaly-free/anomaly-free.csv', reason: 'no anomaly column' }]);
  });
});

describe('protocol', () => {
  // A stand-in model (the real one is checked in eval-skab-model.test.ts): embedding = window
  // means per channel, channel_error = mean square per channel.
  const fake = async (u: Float32Array): Promise<ScoreHeads> => {
    const c = 8;
    const t = u.length / c;
    const emb = new Float32Array(c);
    const err = new Float32Array(c);
    for (let r = 0; r < t; r++) {
      for (let k = 0; k < c; k++) {
        emb[k] += u[r * c + k] / t;
        err[k] += u[r * c + k] ** 2 / t;
      }
    }
    return { embedding: emb, channelError: err };
  };

  it('every row after the 400 baseline rows gets one prediction; labels never reach the scorer', async () => {
    const { files } = loadSkabDir(FIX, CHANNELS);
    const f = files[0];
    const seen: number[] = [];
    const r = await scoreSkabFile(f, async (u) => (seen.push(u.length), fake(u)), {
      model: 'm',
      modelVersion: '1',
      channels: CHANNELS,
      windowLength: 16,
    });
    expect(r.pred.length).toBe(f.rows - BASELINE_ROWS);
    expect(Array.from(r.truth)).toEqual(Array.from(f.anomaly.subarray(BASELINE_ROWS)));
    // baseline windows (400 - 16 + 1) then one window per scored row
    expect(seen.length).toBe(BASELINE_ROWS - 16 + 1 + f.rows - BASELINE_ROWS);
    expect(seen.every((n) => n === 16 * 8)).toBe(true);
    // Flipping the labels changes nothing in the scores.
    const flipped = { ...f, anomaly: f.anomaly.map((v) => 1 - v) };
    const r2 = await scoreSkabFile(flipped, fake, {
      model: 'm',
      modelVersion: '1',
      channels: CHANNELS,
      windowLength: 16,
    });
    expect(Array.from(r2.scores)).toEqual(Array.from(r.scores));
  });

  it('the report totals the per-file confusions', async () => {
    const { files, skipped } = loadSkabDir(FIX, CHANNELS);
    const r = await runSkabProtocol(files, fake, {
      model: 'fake',
      modelVersion: '0',
      channels: CHANNELS,
      windowLength: 16,
      backend: 'test',
      skipped,
    });
    expect(r.files.map((f) => f.file)).toEqual(['valve1/0.csv', 'valve2/0.csv']);
    expect(r.rows).toBe(1147 - 400 + 1125 - 400);
    expect(r.files.reduce((a, f) => a + f.rows, 0)).toBe(r.rows);
    expect(r.tp + r.fn).toBe(
      files.reduce((a, f) => a + f.anomaly.subarray(400).reduce((x, y) => x + y, 0), 0),
    );
    expect(r).toMatchObject({ model: 'fake@0', backend: 'test' });
    expect(r.skipped).toHaveLength(1);
  });
});
