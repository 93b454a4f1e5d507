/**
 * Test helpers for applications and packages built on stratum-data: real services found or
 * started once per run, a data layer on a database of its own per test file (a clone of a
 * migrated template), fixture factories, and the global setup that wires them into Vitest
 * or Jest. The contract suites for new drivers are at `stratum-data/testing/contracts`.
 *
 * @example
 * ```ts
 * import { createTestDataLayer } from 'stratum-data/testing'
 * const t = await createTestDataLayer()
 * const chat = await t.fixtures.chat()
 * await t.destroy()
 * ```
 * @module
 */

export {
  createTestDataLayer,
  type TestBackendChoice,
  type TestDataLayer,
  type TestDataLayerOptions,
} from './create-test-data-layer.js'
export { createFixtures, type Fixtures, type VectorFixture } from './fixtures.js'
export {
  type GlobalSetupOptions,
  globalSetup,
  globalTeardown,
  prepareTestServices,
} from './global-setup.js'
export type { RunningS3, S3Endpoint } from './local-s3.js'
export type { RunningService, ServiceSource } from './running-service.js'
export {
  exportTestServices,
  startTestServices,
  type TestServiceName,
  type TestServiceRequest,
  type TestServices,
  testS3FromEnv,
} from './start-test-services.js'
export {
  dropTemplateDatabases,
  ensureTemplateDatabase,
  type TemplateOptions,
} from './template-databases.js'
