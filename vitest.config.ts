import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Only the TypeScript sources: never the compiled copies under dist/.
    include: ['test/**/*.test.ts'],
    exclude: ['dist/**', 'node_modules/**', '.arm/**'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
