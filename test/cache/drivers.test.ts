import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { memoryDriver, redisDriver } from '../../src/cache/index.js'
import { cacheDriverContract } from '../../src/testing/contracts/index.js'

// The project runs the same exported suite a third-party driver would.
const api = { afterAll, beforeAll, describe, expect, it }

cacheDriverContract(api, 'memory', () => memoryDriver())
cacheDriverContract(api, `redis (${inject('redisDescription')})`, () =>
  redisDriver({ url: inject('redisUrl') }),
)
cacheDriverContract(api, inject('redisClusterDescription'), () =>
  redisDriver({ clusterNodes: inject('redisClusterNodes') }),
)
