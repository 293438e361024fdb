import { defineConfig } from 'vitest/config';
// onnxruntime-node's telemetry off in every test worker (they inherit this process's
// environment): the agent's modules that load it import this module first, but tests also
// load onnxruntime-node directly.
import './agent/inference/ort-telemetry.js';

export default defineConfig({
  test: {
    // Only the TypeScript sources: never the compiled copies under dist/.
    include: ['test/**/*.test.ts'],
    exclude: ['dist/**', 'node_modules/**', '.arm/**'],
    // Every file's temp dirs removed after its tests (helpers/temp-dir.ts).
    setupFiles: ['test/setup/remove-temp-dirs.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
