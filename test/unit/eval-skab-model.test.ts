// The shipped pump-skab model through the TypeScript scoring and onnxruntime-node must give the
// scores the Python mirror computed (scripts/train/skab_fixture_scores.py, torch with the weights
// read back from model.onnx): one implementation of the arithmetic, checked against the other.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadSkabDir, openSkabModel, scoreSkabFile } from '../../agent/eval/skab.js';
import { BaselineLearner } from '../../agent/diagnosis/baseline.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIX = `${ROOT}test/fixtures/skab/`;
const MODEL = `${ROOT}models/pump-skab`;

interface Expected {
  file: string;
  slow: boolean[];
  center: number[];
  scale: number[];
  thresholds: Record<'level' | 'recon' | 't2', number>;
  scores: number[];
}

describe.runIf(existsSync(`${MODEL}/model.onnx`))('pump-skab model on the SKAB fixture', () => {
  it('TypeScript + onnxruntime scores match the Python mirror', async () => {
    const exp = JSON.parse(readFileSync(`${FIX}expected-valve1-0.json`, 'utf8')) as Expected;
    const m = await openSkabModel(MODEL, 'onnx');
    try {
      const { files } = loadSkabDir(FIX, m.channels);
      const f = files.find((x) => x.file === exp.file)!;
      // Baseline: same transform and thresholds.
      const learner = new BaselineLearner({
        model: m.model,
        modelVersion: m.modelVersion,
        channels: m.channels,
        windowLength: m.windowLength,
        hop: 1,
        windows: 400 - m.windowLength + 1,
        scoring: m.scoring,
        transform: m.transform,
      });
      const c = m.channels.length;
      for (let end = m.windowLength - 1; end < 400; end++)
        learner.addWindow(f.values.subarray((end - m.windowLength + 1) * c, (end + 1) * c));
      const b = await learner.finish(m.run);
      expect(b.slow).toEqual(exp.slow);
      b.transform.center.forEach((v, i) => expect(v).toBeCloseTo(exp.center[i], 9));
      b.transform.scale.forEach((v, i) => expect(v / exp.scale[i]).toBeCloseTo(1, 9));
      for (const k of ['level', 'recon', 't2'] as const)
        expect(b.thresholds[k] / exp.thresholds[k]).toBeCloseTo(1, 3);
      // Scores of every scored row: float32 ORT vs float32 torch, then float64 statistics.
      const r = await scoreSkabFile(f, m.run, m);
      expect(r.scores.length).toBe(exp.scores.length);
      let worst = 0;
      r.scores.forEach(
        (s, i) =>
          (worst = Math.max(worst, Math.abs(s - exp.scores[i]) / Math.max(1, Math.abs(exp.scores[i])))),
      );
      expect(worst).toBeLessThan(2e-3);
      const agree = r.scores.filter((s, i) => s > 1 === exp.scores[i] > 1).length;
      expect(agree / r.scores.length).toBeGreaterThan(0.995);
    } finally {
      await m.dispose();
    }
  });
});
