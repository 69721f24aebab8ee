import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import SummaryReporter from './test/support/summary-reporter.ts';

// Two workers (one per core of the machines this suite is tuned on), and no per-file isolation:
// a worker loads the sandbox, sql.js, TypeScript and the AI SDK once and runs file after file
// (every file cleans up after itself: timers restored, servers, sandboxes and storage closed).
// Timeouts are hang detectors, not speed checks: a test that waits for an event waits as long as
// a machine busy with other work needs; no test asserts on wall time (`npm run bench` measures).
export default defineConfig({
  resolve: {
    // Example tests import the package by name, as users do; resolve it to the source so they
    // run without a build.
    alias: [
      {
        find: /^self-improving-agent\/testing$/,
        replacement: fileURLToPath(new URL('./src/testing/index.ts', import.meta.url)),
      },
      {
        find: /^self-improving-agent\/kit$/,
        replacement: fileURLToPath(new URL('./src/kit.ts', import.meta.url)),
      },
      {
        find: /^self-improving-agent$/,
        replacement: fileURLToPath(new URL('./src/index.ts', import.meta.url)),
      },
    ],
  },
  test: {
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ['default', new SummaryReporter()],
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'examples/**/*.test.ts'],
    isolate: false,
  },
});
