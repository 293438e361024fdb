// vitest config for the binding tests under qemu (copied next to vitest.config.ts in the arm64
// tree by scripts/arm/binding-phase.sh). Pool: forks, like a real device (one process per test
// file, so tests that set process.env.VIGIL_ISA / NOTIFY_SOCKET reach the addon's getenv; in
// worker threads process.env is a per-thread copy). Forking the ARM node without binfmt works
// through qemu-spawn-shim.mjs, preloaded with NODE_OPTIONS=--import. Override with
// VIGIL_ARM_VITEST_POOL=threads. Timeouts sized for emulation (correctness only).
import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';

export default mergeConfig(
  base,
  defineConfig({
    test: {
      pool: process.env.VIGIL_ARM_VITEST_POOL === 'threads' ? 'threads' : 'forks',
      testTimeout: 600_000,
      hookTimeout: 600_000,
    },
  }),
);
