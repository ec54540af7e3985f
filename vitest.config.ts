import { defineConfig } from 'vitest/config';

/** Suites that need the real Kafka broker and the MIT KDC started by the global setup. */
const kafkaSuites = ['test/integration/kafka-*.test.ts', 'test/integration/source-kafka.test.ts'];

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'test/unit/**/*.test.ts', 'scripts/**/*.test.ts'],
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
    ],
  },
});
