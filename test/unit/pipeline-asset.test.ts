// AssetRuntime without a broker or a model: windows' outputs -> debounced diagnoses with
// heartbeat, anomaly events with one event id, invalid outputs reported.
import { describe, expect, it } from 'vitest';
import type { AssetConfig } from '../../agent/config/types.js';
import type { InferenceOutputs } from '../../agent/inference/backend.js';
import type { AssembledWindow } from '../../agent/ingest/window-assembler.js';
import type { Manifest } from '../../agent/model/manifest-types.js';
import { AssetRuntime, type AnomalyScorer } from '../../agent/pipeline/asset-runtime.js';
import type { ModelRuntime } from '../../agent/pipeline/model-runtime.js';
import type { AnomalyInput } from '../../agent/reports/anomaly.js';
import type { DiagnosisInput } from '../../agent/reports/diagnosis.js';

const labels = ['healthy', 'imbalance', 'misalignment'];
const manifest = {
  name: 'm',
  version: '1.2.3',
  labels,
  normalLabel: 'healthy',
  input: { sampleRateHz: 1000, windowLength: 100, channels: ['a'], frontend: { kind: 'none' }, hop: 100 },
} as unknown as Manifest;
const model = {
  id: 'm',
  manifest,
  backend: { kind: 'onnx', detail: 'cpu' },
  queue: { push: () => true },
} as unknown as ModelRuntime;

function asset(over: Partial<AssetConfig> = {}, scorer: AnomalyScorer | null = null) {
  let now = 0;
  const diags: DiagnosisInput[] = [];
  const anomalies: AnomalyInput[] = [];
  const errors: string[] = [];
  let seq = 100;
  const cfg: AssetConfig = {
    id: '{1}',
    model: 'm',
    inputs: [],
    debounce: { n: 2, m: 3 },
    heartbeatSec: 10,
    anomaly: {
      enabled: scorer !== null,
      baselineWindows: 3,
      openWindows: 2,
      closeWindows: 2,
      closeRatio: 0.5,
    },
    ...over,
  };
  const a = new AssetRuntime(
    'pump-1',
    cfg,
    model,
    scorer,
    { diagnosis: (d) => diags.push(d), error: (c) => errors.push(c) },
    () => now,
    (x) => {
      anomalies.push(x);
      return ++seq;
    },
  );
  let k = 0;
  const feed = (top: number, dtMs = 100) => {
    now += dtMs;
    const probs = new Float32Array(3).fill(0.1);
    probs[top] = 0.8;
    const w: AssembledWindow = {
      assetId: 'pump-1',
      startMs: k * 100,
      endMs: k * 100 + 99,
      samples: new Float32Array(100),
      filledSamples: 0,
    };
    k++;
    const out: InferenceOutputs = {
      probs,
      embedding: new Float32Array(2),
      patchError: new Float32Array(0),
      channelError: new Float32Array(0),
      inferenceUs: 500,
    };
    a.onResult(w, out);
  };
  return { a, diags, anomalies, errors, feed, setNow: (t: number) => (now = t) };
}

describe('AssetRuntime diagnosis', () => {
  it('publishes a label once it holds 2 of 3 windows, then a heartbeat after heartbeatSec', () => {
    const { diags, feed } = asset();
    feed(1);
    expect(diags).toHaveLength(0);
    feed(1);
    expect(diags).toHaveLength(1);
    expect(diags[0]).toMatchObject({
      label: 'imbalance',
      heartbeat: false,
      previous: null,
      window: { start: 100, end: 200, samples: 100 },
    });
    expect(diags[0].model).toEqual({ id: 'm', version: '1.2.3', backend: 'onnx' });
    feed(0); // one healthy window: not enough
    expect(diags).toHaveLength(1);
    feed(0);
    expect(diags).toHaveLength(2);
    expect(diags[1]).toMatchObject({ label: 'healthy', heartbeat: false, previous: 'imbalance' });
    feed(0, 10_000); // 10 s later: heartbeat
    expect(diags).toHaveLength(3);
    expect(diags[2]).toMatchObject({ label: 'healthy', heartbeat: true });
  });

  it('reports non-finite or mis-sized probabilities and publishes nothing', () => {
    const { a, diags, errors } = asset();
    const w: AssembledWindow = {
      assetId: 'pump-1',
      startMs: 0,
      endMs: 99,
      samples: new Float32Array(100),
      filledSamples: 0,
    };
    const base = {
      embedding: new Float32Array(0),
      patchError: new Float32Array(0),
      channelError: new Float32Array(0),
      inferenceUs: 1,
    };
    a.onResult(w, { ...base, probs: new Float32Array([Number.NaN, 0.5, 0.5]) });
    a.onResult(w, { ...base, probs: new Float32Array([1]) });
    expect(errors).toEqual(['ENGINE_OUTPUT_INVALID', 'ENGINE_OUTPUT_INVALID']);
    expect(diags).toHaveLength(0);
    expect(a.health().windows).toBe(2);
  });
});

describe('AssetRuntime anomaly', () => {
  it('open -> close share the event id (the open message seq); learning emits nothing', () => {
    const scores = [NaN, NaN, NaN, 1, 9, 9, 9, 1, 1, 1];
    let i = 0;
    let learning = true;
    const scorer: AnomalyScorer = {
      get learning() {
        return learning;
      },
      learnedWindows: 3,
      prepare: (raw) => raw,
      fitting: false,
      whenSettled: async () => undefined,
      observe() {
        const s = scores[i++];
        if (Number.isNaN(s)) return null;
        learning = false;
        return { score: s, threshold: 4, channels: [{ name: 'a', contribution: 1 }] };
      },
    };
    const { anomalies, feed, a } = asset({}, scorer);
    for (let k = 0; k < scores.length; k++) feed(0);
    expect(anomalies.map((x) => x.state)).toEqual(['open', 'close']);
    expect(anomalies[0].event).toBeUndefined(); // an open takes its own seq
    expect(anomalies[1].event).toBe(101);
    expect(anomalies[0].since).toBe(4 * 100 + 99); // first window above threshold (its end)
    expect(a.health().anomaly.state).toBe('watching');
  });
});
