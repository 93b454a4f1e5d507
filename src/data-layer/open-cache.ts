import { Cache } from '../cache/cache.js'
import type { CacheDriver } from '../cache/cache-driver.js'
import { memoryDriver } from '../cache/memory-driver.js'
import { redisDriver } from '../cache/redis-driver.js'
import type { CacheTestHooks } from '../cache/test-hooks.js'
import type { ResolvedOptions } from '../config/options.js'

/** The cache and its driver: Redis when one is configured, else the in-process LRU. */
export function openCache(
  options: ResolvedOptions,
  hooks?: CacheTestHooks,
): { cache: Cache; driver: CacheDriver } {
  const { cache } = options
  const driver =
    options.redisUrl || cache.redis.client || cache.redis.clusterNodes || cache.redis.sentinel
      ? redisDriver({
          ...(options.redisUrl ? { url: options.redisUrl } : {}),
          ...(cache.redis.clusterNodes ? { clusterNodes: cache.redis.clusterNodes } : {}),
          ...(cache.redis.sentinel ? { sentinel: cache.redis.sentinel } : {}),
          ...(cache.redis.client ? { client: cache.redis.client } : {}),
          commandTimeoutMs: cache.redis.commandTimeoutMs,
          connectTimeoutMs: cache.redis.connectTimeoutMs,
          tls: cache.redis.tls,
        })
      : memoryDriver(cache.memory)
  const front = new Cache(
    driver,
    {
      prefix: cache.prefix,
      defaultTtlMs: cache.defaultTtlMs,
      maxValueBytes: cache.maxValueBytes,
      ttlJitter: cache.ttlJitter,
      leaseTtlMs: cache.leaseTtlMs,
      l1: cache.l1,
      circuitBreaker: cache.circuitBreaker,
    },
    hooks,
  )
  return { cache: front, driver }
}
