/**
 * The contract suites of stratum-data's pluggable backends, for authors of new drivers:
 * the same tests the built-in Redis, memory, S3, filesystem and memory-blob drivers pass.
 * They take the runner's functions as an argument, so they run under Vitest or Jest.
 *
 * @example
 * ```ts
 * import { afterAll, beforeAll, describe, expect, it } from 'vitest'
 * import { cacheDriverContract } from 'stratum-data/testing/contracts'
 * cacheDriverContract({ afterAll, beforeAll, describe, expect, it }, 'mine', () => myDriver())
 * ```
 * @module
 */
export {
  type BlobCapabilities,
  blobStoreContract,
  type OpenedStore,
  uniquePrefix,
} from './blob-store-contract.js'
export { cacheDriverContract } from './cache-driver-contract.js'
export { coordinationContract } from './coordination-contract.js'
export type { Assertion, Matchers, TestApi, TestBody } from './test-api.js'
