import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // End-to-end suites start servers on loopback; two cores here, so keep the pool small.
    maxWorkers: 2,
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'],
      thresholds: {
        'src/protocol/**': { lines: 90, branches: 85, functions: 90, statements: 90 },
      },
    },
    benchmark: {
      include: ['bench/**/*.bench.ts'],
    },
  },
});
