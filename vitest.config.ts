import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // The machines are shared and small (2 cores): keep workers bounded, and give integration
    // and end-to-end tests that start a local stack room to breathe.
    maxWorkers: 2,
    testTimeout: 30_000,
    // Files and tests run in a random order, so no test leans on another's leftovers. Vitest prints
    // the seed ("Running tests with seed ..."); replay an order with VITEST_SEED=<seed> npm test.
    sequence: { shuffle: true, ...(process.env.VITEST_SEED ? { seed: Number(process.env.VITEST_SEED) } : {}) },
    hookTimeout: 60_000,
    // Lambda runs Node 22; these machines run 20, where the SDK warns about its future releases.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    // CI also writes a JSON report, from which .ci/run prints the plain "N passed, N failed" line.
    reporters: process.env.VITEST_JSON_REPORT ? ['default', ['json', { outputFile: process.env.VITEST_JSON_REPORT }]] : ['default'],
  },
});
