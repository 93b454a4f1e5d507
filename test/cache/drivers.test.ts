import { inject } from 'vitest'
import { memoryDriver, redisDriver } from '../../src/cache/index.js'
import { cacheDriverContract } from './cache-driver.contract.js'

cacheDriverContract('memory', () => memoryDriver())
cacheDriverContract(`redis (${inject('redisDescription')})`, () =>
  redisDriver({ url: inject('redisUrl') }),
)
