import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  resolve: {
    alias: {
      'stratum-data/testing/contracts': fileURLToPath(
        new URL('./src/testing/contracts/index.ts', import.meta.url),
      ),
      'stratum-data/testing': fileURLToPath(new URL('./src/testing/index.ts', import.meta.url)),
      'stratum-data/storage': fileURLToPath(new URL('./src/storage/index.ts', import.meta.url)),
      'stratum-data/cache': fileURLToPath(new URL('./src/cache/index.ts', import.meta.url)),
      'stratum-data/schema': fileURLToPath(new URL('./src/schema/index.ts', import.meta.url)),
      'stratum-data': fileURLToPath(new URL('./src/index.ts', import.meta.url)),
    },
  },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default', './test/summary-reporter.ts'],
    // Type tests (test/types/*.test-d.ts), checked by tsc over the whole project: a type
    // error anywhere, or an expected error that does not occur, fails the run.
    typecheck: { enabled: true, include: ['test/types/**/*.test-d.ts'], tsconfig: 'tsconfig.json' },
  },
})
