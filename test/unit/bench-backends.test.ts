// The backends benchmark (agent/bench/backend-bench.ts) runs end to end on a tiny burst and
// reports one row per backend and mode (native too when the addon is built) with the ratios
// line; no timing is asserted.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatBench, runBackendBench } from '../../agent/bench/backend-bench.js';
import { defaultAddonPath } from '../../agent/inference/addon-loader.js';

describe('backend bench', () => {
  it('measures every backend in both modes and formats the ratios', async () => {
    const rs = await runBackendBench({ models: ['pump-skab'], windows: 4, batch: 2, rounds: 1 });
    const keys = rs.map((r) => `${r.backend}:${r.mode}:${r.batch}`);
    const onnx = ['onnx-main:run:1', 'onnx-main:runBatch:2', 'onnx-worker:run:1', 'onnx-worker:runBatch:2'];
    const native = ['native:run:1', 'native:runBatch:2'];
    const withNative = existsSync(defaultAddonPath());
    expect(keys).toEqual(withNative ? [...onnx, ...native] : onnx);
    for (const r of rs) {
      expect(r.windows).toBe(4);
      expect(r.usPerWindow).toBeGreaterThan(0);
      // the hop is the worker's alone
      expect(r.hopUsMean === undefined).toBe(r.backend !== 'onnx-worker');
    }
    expect(formatBench(rs)).toMatch(
      /pump-skab: loop p99 main\/worker [\d.]+x, per-window time worker\/main [\d.]+x, worker batched\/unbatched [\d.]+x/,
    );
    if (withNative) expect(formatBench(rs)).toMatch(/native batched\/unbatched [\d.]+x/);
  });
});
