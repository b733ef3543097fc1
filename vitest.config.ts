import { defineConfig } from 'vitest/config';

/**
 * Test files that run the Debian Python driver (python3-cassandra) or gocql. They form the
 * "drivers" project, whose set-up checks those packages first and, as root, installs them
 * (test/setup/debian-packages.ts); the other files never wait for it, so a unit test file alone
 * stays fast, on any system. test/setup/driver-tests.test.ts keeps this list complete.
 */
export const DRIVER_TESTS = [
  'test/e2e/**/*.test.ts',
  'test/client/drivers.test.ts',
  'test/client/system-tables-wire.test.ts',
  'test/sim/drivers-direct.test.ts',
  'test/sim/simulator.test.ts',
];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // End-to-end suites start servers on loopback; two cores here, so keep the pool small.
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: DRIVER_TESTS },
      },
      {
        extends: true,
        test: {
          name: 'drivers',
          include: DRIVER_TESTS,
          globalSetup: ['test/setup/debian-packages.ts'],
          // The benchmarks run once, in the unit project (arrays merge with the root's: an
          // empty include here would keep the root's).
          benchmark: { exclude: ['**'] },
        },
      },
    ],
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
