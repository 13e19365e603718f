import { defineConfig } from 'vitest/config';
import LogScanLast from './test/support/setup/logScanLast.js';

// Two projects: `unit` never touches the network; `integration` runs against real peers
// (a Patroni lab, PostgreSQL, the moto AWS emulator) started on 127.0.0.1 by the tests themselves.
export default defineConfig({
  test: {
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    reporters: ['default', './test/support/reporters/summaryLine.ts'],
    // The integration run's log lines are captured and scanned for secrets by its last file.
    globalSetup: ['./test/support/setup/freshLogCapture.ts'],
    sequence: { sequencer: LogScanLast },
    // The pure core is held to a line-coverage floor (npm test runs with --coverage); ports.ts and the state's
    // shape hold types only, so they have no lines to cover.
    coverage: {
      provider: 'v8',
      include: ['lambdas/domain/**/*.ts'],
      exclude: ['lambdas/domain/ports.ts', 'lambdas/domain/clusterState.ts'],
      reporter: ['text-summary'],
      thresholds: { lines: 90 },
    },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          setupFiles: ['./test/support/setup/captureOutput.ts'],
          // Real failovers take tens of seconds; each file owns its lab on its own ports,
          // and files run one at a time so two labs never compete for the two cores.
          testTimeout: 240_000,
          hookTimeout: 240_000,
          fileParallelism: false,
        },
      },
      {
        extends: true,
        test: {
          // `npm run test:scenarios`: every failure scenario on both Patroni versions; writes docs/scenarios.md.
          name: 'scenarios',
          include: ['test/scenarios/**/*.test.ts'],
          setupFiles: ['./test/support/setup/captureOutput.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
