import {
  exportTestServices,
  startTestServices,
  type TestServiceRequest,
  type TestServices,
} from './start-test-services.js'
import { ensureTemplateDatabase, type TemplateOptions } from './template-databases.js'

/** Options of {@link globalSetup}. */
export interface GlobalSetupOptions {
  /** Which services, and whether the embedded defaults may stand in (see `startTestServices`). */
  services?: TestServiceRequest
  /**
   * Template databases to migrate before any test starts, one per distinct set of
   * options your tests pass to `createTestDataLayer` (embedding dimension, extensions,
   * migration sets). Those not listed are made by the first test that needs them.
   */
  templates?: TemplateOptions[]
  /** Where the summary line goes (default `console.log`); `false` for silence. */
  log?: ((line: string) => void) | false
}

const RUNNING = Symbol.for('stratum-data.testing.services')
type GlobalWithServices = typeof globalThis & { [RUNNING]?: TestServices }

/**
 * Finds or starts the test services, puts their URLs into `process.env` (inherited by
 * worker processes started afterwards, and read by `createTestDataLayer()`), and migrates
 * the listed templates; stops what it started if any of that fails. {@link globalSetup}
 * is this plus the runner's teardown.
 */
export async function prepareTestServices(
  options: Omit<GlobalSetupOptions, 'log'> = {},
): Promise<TestServices> {
  const services = await startTestServices(options.services)
  try {
    exportTestServices(services)
    if (services.postgres)
      for (const template of options.templates ?? [])
        await ensureTemplateDatabase(services.postgres.url, template)
  } catch (error) {
    await services.stop()
    throw error
  }
  return services
}

/**
 * A test runner's global setup: {@link prepareTestServices} once for the whole run, a
 * summary line of what was chosen, and the teardown that stops the services.
 *
 * @example
 * ```ts
 * // vitest.config.ts: test: { globalSetup: ['./test/global-setup.ts'] }
 * // test/global-setup.ts
 * import { globalSetup } from 'stratum-data/testing'
 * export default globalSetup({ templates: [{ embeddings: { dimensions: 384 } }] })
 *
 * // Jest: globalSetup: './test/global-setup.cjs', globalTeardown: './test/global-teardown.cjs'
 * // global-setup.cjs:    module.exports = require('stratum-data/testing').globalSetup()
 * // global-teardown.cjs: module.exports = require('stratum-data/testing').globalTeardown
 * ```
 */
export function globalSetup(options: GlobalSetupOptions = {}): () => Promise<() => Promise<void>> {
  return async () => {
    const started = performance.now()
    const services = await prepareTestServices(options)
    ;(globalThis as GlobalWithServices)[RUNNING] = services
    const log = options.log === undefined ? console.log : options.log
    if (log)
      log(
        `[test services] ${services.summary.join('; ')} (${Math.round(performance.now() - started)} ms)`,
      )
    return globalTeardown
  }
}

/** Stops what {@link globalSetup} started in this process; does nothing when nothing runs. */
export async function globalTeardown(): Promise<void> {
  const holder = globalThis as GlobalWithServices
  const services = holder[RUNNING]
  delete holder[RUNNING]
  await services?.stop()
}
