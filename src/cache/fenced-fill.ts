import type { CacheCounters } from './cache-counters.js'
import type { CacheDriver, Claim } from './cache-driver.js'
import type { ReadThroughOptions } from './cache-types.js'
import type { CircuitBreaker } from './circuit-breaker.js'
import { newFenceToken } from './fence-token.js'
import { FENCE_SUFFIX, LEASE_SUFFIX } from './key-space.js'
import type { L1Tier } from './l1-tier.js'
import { decodeValue } from './serializer.js'
import type { ValueCodec } from './value-codec.js'

const MAX_LEASE_POLL_MS = 20

/** What a fill needs of the cache it fills. */
export interface FillContext {
  readonly driver: CacheDriver
  readonly counters: CacheCounters
  readonly codecs: ReadonlyMap<string, ValueCodec>
  readonly circuit: CircuitBreaker
  readonly leaseTtlMs: number
  readonly ttlJitter: number
  /** Off only in the project's own tests and bench, to show what fencing prevents. */
  readonly fencing: boolean
  readonly beforeFill: ((key: string) => Promise<void>) | undefined
  /** The L1 tier, whether or not it is live (its epoch dates a fill). */
  readonly l1: L1Tier | undefined
  /** The L1 tier when it can be trusted. */
  liveL1(): L1Tier | undefined
  failed(key: string, error: unknown): void
  encode(key: string, value: unknown, codec?: ValueCodec): Buffer
}

/** The fence that a fill must still hold when it stores its value. */
interface Fence {
  fenceKey: string
  token: string
  epoch: number
}

/**
 * Fills one key after a miss: takes the key's fence token and a lease in one step (only the
 * lease holder loads; the others wait for its value), loads from the source, and stores
 * the value only if the fence has not moved since, so a fill that began before a write's
 * invalidation never puts an old value back.
 */
export async function fencedFill<T>(
  cache: FillContext,
  key: string,
  full: string,
  load: () => Promise<T>,
  options: ReadThroughOptions,
  known?: { fenceKey: string; token: string },
): Promise<T> {
  const fenceKey = known?.fenceKey ?? full + FENCE_SUFFIX
  const fenceTtl = Math.max(options.ttlMs, options.negativeTtlMs ?? 0) * 2
  if (!cache.fencing) return loadAndStore(cache, key, full, load, options, undefined)
  const leaseKey = full + LEASE_SUFFIX
  const holder = newFenceToken()
  const deadline = performance.now() + cache.leaseTtlMs
  let pause = 1
  for (;;) {
    const epoch = cache.l1?.epoch ?? 0
    let claim: Claim
    try {
      // Taken before the source is read: a write committed after this point changes the
      // token. Only the lease holder loads; the others wait for its fill.
      claim = await cache.driver.claim(full, fenceKey, fenceTtl, leaseKey, holder, cache.leaseTtlMs)
      cache.circuit.succeeded()
    } catch (error) {
      cache.failed(key, error)
      cache.counters.count('loads', key)
      return load()
    }
    if (claim.value !== undefined) {
      try {
        const value = decodeValue(claim.value, cache.codecs) as T
        cache.liveL1()?.fill(full, value, epoch)
        return value
      } catch (error) {
        cache.counters.count('bypasses', key, error)
        cache.counters.count('loads', key)
        return load()
      }
    }
    const token = known?.token ?? claim.token
    if (claim.leased) {
      try {
        return await loadAndStore(cache, key, full, load, options, { fenceKey, token, epoch })
      } finally {
        cache.driver.releaseLease(leaseKey, holder).catch(() => {})
      }
    }
    // Another process is loading. Past the lease's lifetime, load without it (still fenced).
    if (performance.now() >= deadline) {
      return loadAndStore(cache, key, full, load, options, { fenceKey, token, epoch })
    }
    if (pause === 1) cache.counters.count('leaseWaits', key)
    await new Promise((resolve) => setTimeout(resolve, pause))
    pause = Math.min(pause * 2, MAX_LEASE_POLL_MS)
  }
}

/** Loads from the source and stores the value, fenced by `fence` when given. */
async function loadAndStore<T>(
  cache: FillContext,
  key: string,
  full: string,
  load: () => Promise<T>,
  options: ReadThroughOptions,
  fence: Fence | undefined,
): Promise<T> {
  cache.counters.count('loads', key)
  const value = await load()
  if (value === null && options.negativeTtlMs === undefined) return value
  let bytes: Buffer
  try {
    bytes = cache.encode(key, value, options.codec)
  } catch {
    return value
  }
  if (cache.beforeFill) await cache.beforeFill(key)
  const ttl = jittered(value === null ? options.negativeTtlMs! : options.ttlMs, cache.ttlJitter)
  try {
    if (fence === undefined) {
      await cache.driver.set(full, bytes, ttl)
      cache.counters.count('sets', key)
    } else if (await cache.driver.setIfFence(full, bytes, ttl, fence.fenceKey, fence.token)) {
      cache.counters.count('sets', key)
      cache.liveL1()?.fill(full, value, fence.epoch)
    } else {
      cache.counters.count('fencedFills', key)
    }
  } catch (error) {
    cache.failed(key, error)
  }
  return value
}

/** `ttlMs` shortened by up to `jitter` (a fraction), so keys filled together expire apart. */
function jittered(ttlMs: number, jitter: number): number {
  return Math.max(1, Math.round(ttlMs * (1 - jitter * Math.random())))
}
