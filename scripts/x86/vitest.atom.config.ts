// vitest config for the binding tests on an emulated x86 CPU without AVX (scripts/test-atom.sh):
// the repository's config with scripts/arm/vitest.arm.config.ts's settings for emulation (forks
// pool, like a device, so tests that set process.env reach the addon's getenv; timeouts sized
// for emulation, correctness only), rooted at the repository.
import { fileURLToPath } from 'node:url';
import { defineConfig, mergeConfig } from 'vitest/config';
import base from '../../vitest.config.js';

export default mergeConfig(
  base,
  defineConfig({
    root: fileURLToPath(new URL('../..', import.meta.url)),
    test: {
      pool: 'forks',
      testTimeout: 600_000,
      hookTimeout: 600_000,
    },
  }),
);
