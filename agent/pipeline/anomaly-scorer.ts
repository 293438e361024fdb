// The asset's anomaly scorer: learn the site's normal behaviour for `baselineWindows` windows after
// commissioning, persist it under <dataDir>/baselines/<asset>.json (restored at start), then score
// every window against it.
// INTERIM: agent/diagnosis/baseline.ts + anomaly-score.ts (another engineer's) are the real
// implementation; until they land this adapter keeps a diagonal-Gaussian baseline of the
// per-feature-channel reconstruction error (log domain), or of the embedding without a recon head.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { InferenceOutputs } from '../inference/backend.js';
import { featureShape } from '../inference/frontend.js';
import type { Logger } from '../log/logger.js';
import type { AnomalyScorer } from './asset-runtime.js';
import type { ModelRuntime } from './model-runtime.js';

export interface AnomalyScorerOptions {
  assetId: string;
  model: ModelRuntime;
  baselineWindows: number;
  dir: string;
  log: Logger;
}

interface Persisted {
  format: 'vigil.baseline/interim-1';
  asset: string;
  model: string;
  modelVersion: string;
  windows: number;
  mean: number[];
  std: number[];
  threshold: number;
}

const EPS = 1e-9;

export function createAnomalyScorer(o: AnomalyScorerOptions): AnomalyScorer {
  const m = o.model.manifest;
  const shape = featureShape(m.input.windowLength, m.input.channels.length, m.input.frontend);
  const names = channelNames(m.input.channels, m.input.frontend.kind, shape.channels);
  const file = path.join(o.dir, `${o.assetId}.json`);
  let learned: Persisted | null = restore();
  const samples: Float64Array[] = [];

  function restore(): Persisted | null {
    try {
      const p = JSON.parse(readFileSync(file, 'utf8')) as Persisted;
      if (p.model !== o.model.id || p.modelVersion !== m.version) {
        o.log.info({ asset: o.assetId, file }, 'baseline is for another model version: relearning');
        return null;
      }
      o.log.info({ asset: o.assetId, windows: p.windows }, 'baseline restored');
      return p;
    } catch {
      return null; // none yet (or unreadable): learn one
    }
  }

  function vectorOf(out: InferenceOutputs): Float64Array {
    const src = out.channelError.length > 0 ? out.channelError : out.embedding;
    const v = new Float64Array(src.length);
    for (let i = 0; i < src.length; i++) v[i] = out.channelError.length > 0 ? Math.log(src[i] + EPS) : src[i];
    return v;
  }

  function zScores(v: Float64Array, b: Persisted): Float64Array {
    const z = new Float64Array(v.length);
    for (let i = 0; i < v.length; i++) z[i] = (v[i] - b.mean[i]) / b.std[i];
    return z;
  }

  function scoreOf(z: Float64Array): number {
    let s = 0;
    for (const x of z) s += x * x;
    return Math.sqrt(s / Math.max(1, z.length));
  }

  function finish(): void {
    const d = samples[0].length;
    const mean = new Array<number>(d).fill(0);
    const std = new Array<number>(d).fill(0);
    for (const v of samples) for (let i = 0; i < d; i++) mean[i] += v[i] / samples.length;
    for (const v of samples) for (let i = 0; i < d; i++) std[i] += (v[i] - mean[i]) ** 2 / samples.length;
    for (let i = 0; i < d; i++) std[i] = Math.sqrt(std[i]) + 1e-3;
    const b: Persisted = {
      format: 'vigil.baseline/interim-1',
      asset: o.assetId,
      model: o.model.id,
      modelVersion: m.version,
      windows: samples.length,
      mean,
      std,
      threshold: 0,
    };
    const scores = samples.map((v) => scoreOf(zScores(v, b))).sort((x, y) => x - y);
    const q = scores[Math.min(scores.length - 1, Math.floor(0.99 * scores.length))];
    b.threshold = Math.max(1.5 * q, 3);
    learned = b;
    samples.length = 0;
    try {
      const tmp = `${file}.tmp`;
      writeFileSync(tmp, JSON.stringify(b));
      renameSync(tmp, file);
    } catch (err) {
      o.log.warn(
        { asset: o.assetId, err: (err as Error).message },
        'cannot persist the baseline (kept in memory)',
      );
    }
    o.log.info({ asset: o.assetId, windows: b.windows, threshold: b.threshold }, 'baseline learned');
  }

  return {
    get learning() {
      return learned === null;
    },
    get learnedWindows() {
      return learned ? learned.windows : samples.length;
    },
    observe(out) {
      const v = vectorOf(out);
      for (const x of v) if (!Number.isFinite(x)) return null;
      if (!learned) {
        samples.push(v);
        if (samples.length >= o.baselineWindows) finish();
        return null;
      }
      if (v.length !== learned.mean.length) return null;
      const z = zScores(v, learned);
      const score = scoreOf(z);
      let total = 0;
      for (const x of z) total += x * x;
      const channels = Array.from(z, (x, i) => ({
        name: names[i] ?? `f${i}`,
        contribution: total > 0 ? (x * x) / total : 0,
      }));
      return { score, threshold: learned.threshold, channels };
    },
  };
}

function channelNames(raw: readonly string[], kind: string, n: number): string[] {
  if (kind !== 'spectral') return raw.length === n ? [...raw] : Array.from({ length: n }, (_, i) => `e${i}`);
  const out: string[] = [];
  for (const c of raw) out.push(`${c}.spectrum`, `${c}.envelope`, `${c}.band`);
  return out;
}
