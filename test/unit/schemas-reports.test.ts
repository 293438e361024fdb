// The JSON Schemas in docs/schemas pin the MQTT contract: every builder's output must validate,
// and messages that break the contract must not.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { buildAnomaly } from '../../agent/reports/anomaly.js';
import { buildDiagnosis } from '../../agent/reports/diagnosis.js';
import { buildError } from '../../agent/reports/errors.js';
import { buildHealth, type HealthInput } from '../../agent/reports/health.js';
import { ReportContext } from '../../agent/reports/report-context.js';
import { buildStatus } from '../../agent/reports/status.js';

const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
function schema(name: string) {
  const file = path.join(__dirname, '../../docs/schemas', `${name}.schema.json`);
  return ajv.compile(JSON.parse(readFileSync(file, 'utf8')));
}
const v = {
  status: schema('status'),
  diagnosis: schema('diagnosis'),
  anomaly: schema('anomaly'),
  errors: schema('errors'),
  health: schema('health'),
};
function ok(validate: ReturnType<typeof schema>, msg: unknown): void {
  // Through JSON, as a consumer sees it.
  const wire = JSON.parse(JSON.stringify(msg));
  const valid = validate(wire);
  expect(valid, JSON.stringify(validate.errors)).toBe(true);
}

const ctx = () => new ReportContext('gw-1', 'boot-1', () => 1_763_856_000_123);
const model = { id: 'rotating-vib', version: '1.0.0', backend: 'native' as const };

export function sampleHealth(): HealthInput {
  return {
    version: '0.1.0',
    uptimeSec: 12.5,
    system: {
      cpuLoad: 0.4,
      loadAvg: [0.8, 0.5, 0.3],
      cpus: 2,
      processCpuPct: 12.3,
      memory: { totalBytes: 8e9, availableBytes: 4e9, rssBytes: 9e7, heapUsedBytes: 3e7 },
      disk: { path: '/var/lib/vigil', totalBytes: 3e10, freeBytes: 1e10 },
      socTempC: null,
      throttled: null,
      eventLoopDelayMs: 1.2,
    },
    connection: {
      state: 'connected',
      connects: 1,
      reconnects: 0,
      publishes: 10,
      publishFailures: 0,
      publishDropped: 0,
      pending: 0,
    },
    models: {
      'rotating-vib': {
        backend: 'native',
        detail: 'avx512_vnni',
        inferences: 5,
        failures: 0,
        latencyUs: { p50: 800, p99: 1500, max: 1600, count: 5 },
        queue: { depth: 0, maxDepth: 2, capacity: 64, enqueued: 5, dropped: 0 },
        batches: { max: 8, calls: 3, windows: 5, maxSize: 2, sizes: { 1: 1, 2: 2 }, fallbacks: 0 },
      },
      'pump-skab': {
        backend: 'onnx',
        detail: 'cpu',
        inferences: 2,
        failures: 1,
        latencyUs: { p50: 300, p99: 400, max: 400, count: 2 },
        queue: { depth: 0, maxDepth: 1, capacity: 64, enqueued: 3, dropped: 0 },
        batches: { max: 8, calls: 3, windows: 3, maxSize: 1, sizes: { 1: 3 }, fallbacks: 0 },
        worker: { state: 'ready', restarts: 1, crashes: 1, hopUsMean: 85.5 },
      },
    },
    inputs: {
      'sensors/+/vibration': {
        format: 'json-block',
        messages: 40,
        samples: 40960,
        rejected: 1,
        rejectedByReason: { PAYLOAD_INVALID: 1 },
      },
    },
    assets: {
      'fan-1': {
        model: 'rotating-vib',
        windows: 5,
        diagnoses: 1,
        label: 'healthy',
        anomaly: { state: 'learning', baselineWindows: 5, score: null },
        counters: { gaps: 0, duplicates: 0 },
      },
    },
    errors: { reported: 1, published: 1, suppressed: 0, byCode: { PAYLOAD_INVALID: 1 } },
    watchdog: { enabled: false, intervalMs: null, pings: 0, starved: 0 },
  };
}

describe('report builders against docs/schemas', () => {
  it('status: online, stopping, offline and the Will', () => {
    const c = ctx();
    for (const state of ['online', 'stopping', 'offline'] as const) {
      ok(
        v.status,
        buildStatus(c, {
          state,
          version: '0.1.0',
          startedAt: 1,
          models: [{ ...model, detail: 'avx2' }],
          assets: ['fan-1'],
        }),
      );
    }
    ok(
      v.status,
      buildStatus(c, {
        state: 'offline',
        version: '0.1.0',
        startedAt: 1,
        models: [],
        assets: [],
        will: true,
      }),
    );
    expect(
      v.status({
        ...buildStatus(c, { state: 'online', version: '1', startedAt: 1, models: [], assets: [] }),
        state: 'up',
      }),
    ).toBe(false);
  });

  it('diagnosis: change and heartbeat, top-3 sorted, confidence of the label', () => {
    const c = ctx();
    const d = buildDiagnosis(c, {
      asset: 'fan-1',
      label: 'imbalance',
      probs: new Float32Array([0.05, 0.8, 0.1, 0.05]),
      labels: ['healthy', 'imbalance', 'misalignment', 'bearing_outer'],
      window: { start: 1000, end: 2000, samples: 8192 },
      model,
      inferenceUs: 812.4,
      heartbeat: false,
      previous: null,
    });
    ok(v.diagnosis, d);
    expect(d.top.map((t) => t.label)).toEqual(['imbalance', 'misalignment', 'healthy']);
    expect(d.confidence).toBeCloseTo(0.8, 4);
    expect(d.seq).toBe(1);
    const hb = buildDiagnosis(c, {
      ...d,
      probs: [0.05, 0.8, 0.1, 0.05],
      labels: ['healthy', 'imbalance', 'misalignment', 'bearing_outer'],
      heartbeat: true,
      previous: 'x',
    });
    ok(v.diagnosis, hb);
    expect(hb.seq).toBe(2);
    expect('previous' in hb).toBe(false);
    expect(v.diagnosis({ ...d, confidence: 1.5 })).toBe(false);
    expect(v.diagnosis({ ...d, extra: 1 })).toBe(false);
  });

  it('anomaly: open/update/close share the event id; channels ranked', () => {
    const c = ctx();
    const base = {
      asset: 'pump-1',
      score: 5.2,
      threshold: 3,
      since: 1000,
      peakScore: 5.2,
      windowEnd: 2000,
      channels: [
        { name: 'a', contribution: 0.2 },
        { name: 'b', contribution: 0.8 },
      ],
    };
    const open = buildAnomaly(c, { ...base, state: 'open' });
    const upd = buildAnomaly(c, { ...base, state: 'update', event: open.event, score: 7, peakScore: 7 });
    const close = buildAnomaly(c, { ...base, state: 'close', event: open.event, score: 1, peakScore: 7 });
    for (const m of [open, upd, close]) ok(v.anomaly, m);
    expect(open.event).toBe(open.seq);
    expect(close.event).toBe(open.seq);
    expect(open.channels[0].name).toBe('b');
    expect(() => buildAnomaly(c, { ...base, state: 'close' })).toThrow(/expected the event/);
  });

  it('errors: code pattern, message cut, suppressed count', () => {
    const c = ctx();
    ok(
      v.errors,
      buildError(c, { code: 'PAYLOAD_INVALID', message: 'bad', topic: 'sensors/x/vibration', asset: 'x' }, 3),
    );
    const long = buildError(c, { code: 'PAYLOAD_TOO_LARGE', message: 'x'.repeat(5000) }, 0);
    ok(v.errors, long);
    expect(long.message.length).toBe(500);
    expect(v.errors({ ...long, code: 'lower-case' })).toBe(false);
  });

  it('health: a full message, and a wrong connection state fails', () => {
    const h = buildHealth(ctx(), sampleHealth());
    ok(v.health, h);
    expect(v.health({ ...h, connection: { ...h.connection, state: 'weird' } })).toBe(false);
  });

  it('health: batch and worker counters are pinned (a missing or mistyped field fails)', () => {
    const h = buildHealth(ctx(), sampleHealth());
    const pump = h.models['pump-skab']!;
    const withModel = (m: object) => ({ ...h, models: { ...h.models, 'pump-skab': m } });
    const { batches: _b, ...noBatches } = pump;
    expect(v.health(withModel(noBatches))).toBe(false);
    expect(v.health(withModel({ ...pump, batches: { ...pump.batches, sizes: { x: 1 } } }))).toBe(false);
    expect(v.health(withModel({ ...pump, worker: { ...pump.worker, state: 'zombie' } }))).toBe(false);
    const { worker: _w, ...native } = pump;
    ok(v.health, withModel(native));
  });
});
