// The backends benchmark (agent/bench/backend-bench.ts) runs end to end on a tiny burst and
// reports one row per backend and mode with the ratios line; no timing is asserted.
import { describe, expect, it } from 'vitest';
import { formatBench, runBackendBench } from '../../agent/bench/backend-bench.js';

describe('backend bench', () => {
  it('measures every backend in both modes and formats the ratios', async () => {
    const rs = await runBackendBench({ models: ['pump-skab'], windows: 4, batch: 2, rounds: 1 });
    const keys = rs.map((r) => `${r.backend}:${r.mode}:${r.batch}`);
    expect(keys).toEqual(
      expect.arrayContaining([
        'onnx-main:run:1',
        'onnx-main:runBatch:2',
        'onnx-worker:run:1',
        'onnx-worker:runBatch:2',
      ]),
    );
    for (const r of rs) {
      expect(r.windows).toBe(4);
      expect(r.usPerWindow).toBeGreaterThan(0);
      expect(r.loopDelayMaxMs).toBeGreaterThanOrEqual(r.loopDelayP99Ms);
    }
    expect(rs.find((r) => r.backend === 'onnx-worker')?.hopUsMean).toBeGreaterThanOrEqual(0);
    expect(formatBench(rs)).toMatch(
      /pump-skab: loop p99 main\/worker [\d.]+x, per-window time worker\/main [\d.]+x/,
    );
  });
});
