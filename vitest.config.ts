import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'test/unit/**/*.test.ts'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/soak/**/*.test.ts'],
          // Starts the KDC and the Kafka broker once per run and stops them afterwards.
          globalSetup: ['test/integration/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // Integration suites share external services (Kafka, KDC); run files one at a time.
          fileParallelism: false,
        },
      },
    ],
  },
});
