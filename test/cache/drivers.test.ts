import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { memoryDriver, redisDriver } from '../../src/cache/index.js'
import { cacheDriverContract } from '../../src/testing/contracts/index.js'
import { waitFor } from '../helpers/wait-for.js'

// The project runs the same exported suite a third-party driver would.
const api = { afterAll, beforeAll, describe, expect, it }

cacheDriverContract(api, 'memory', () => memoryDriver())
cacheDriverContract(api, `redis (${inject('redisDescription')})`, () =>
  redisDriver({ url: inject('redisUrl') }),
)
// A cluster client is ready once it has the slot map, which on a busy machine can take
// longer than the first call waits; the suite starts once it answers.
cacheDriverContract(api, inject('redisClusterDescription'), async () => {
  const driver = redisDriver({ clusterNodes: inject('redisClusterNodes') })
  await waitFor('the cluster to answer', () =>
    driver.ping().then(
      () => true,
      () => false,
    ),
  )
  return driver
})
