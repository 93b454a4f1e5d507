/**
 * The cache of stratum-data: the `Cache` front, the `CacheDriver` contract and its two
 * drivers (in-process LRU, Redis).
 *
 * @example
 * ```ts
 * import { Cache, redisDriver } from 'stratum-data/cache'
 * const cache = new Cache(redisDriver({ url: process.env.REDIS_URL }), { prefix: 'myapp:' })
 * ```
 * @module
 */
export { Cache } from './cache.js'
export type { Broadcast, CacheDriver, Claim, RateDecision, Subscription } from './cache-driver.js'
export { CACHE_DEFAULTS } from './cache-options.js'
export type { CacheEvent, CacheOptions, CacheStats, ReadThroughOptions } from './cache-types.js'
export type { Coordination } from './coordination.js'
export { type MemoryDriverOptions, memoryDriver } from './memory-driver.js'
export {
  createRateLimiter,
  type RateLimiter,
  type RateLimitOptions,
  type RateLimitResult,
} from './rate-limiter.js'
export type { RedisClient } from './redis-client.js'
export { type RedisDriverOptions, redisDriver } from './redis-driver.js'
export {
  type ResumableStreamPublisher,
  type ResumableStreamSubscriber,
  resumableStreamClients,
} from './resumable-stream-clients.js'
export { type Session, SessionStore } from './session-store.js'
export type { ValueCodec } from './value-codec.js'
