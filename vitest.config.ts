import { defineConfig } from 'vitest/config';

/** Suites that need the real Kafka broker and the MIT KDC started by the global setup. */
const kafkaSuites = ['test/integration/kafka-*.test.ts', 'test/integration/source-kafka.test.ts'];

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: [
            'src/**/*.test.ts',
            'test/unit/**/*.test.ts',
            'scripts/**/*.test.ts',
            'web/src/**/*.test.ts',
          ],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          // Real servers written in Node (broker, HStreamDB stand-in, API, CLI), and Debian's
          // Mosquitto for source-mqtt (scripts/install-system-deps.sh installs it).
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/soak/**/*.test.ts'],
          exclude: kafkaSuites,
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // Suites start servers and child processes; one file at a time keeps a 2-core machine honest.
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'integration-kafka',
          include: kafkaSuites,
          // Starts the KDC and the Kafka broker once per run and stops them afterwards.
          globalSetup: ['test/integration/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // These suites share the external services (Kafka, KDC); run files one at a time, and
          // after the other projects so two integration files never run at once.
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: {
          // The dashboard end to end in Debian's Chromium (playwright-core; never downloads a
          // browser). Needs /usr/bin/chromium (scripts/install-system-deps.sh) and the built
          // dashboard (npm run build:web; the suite builds it when dist/web is missing).
          name: 'browser',
          include: ['test/e2e/**/*.test.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          fileParallelism: false,
          // Last, alone: a browser is heavy on a 2-core machine.
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
