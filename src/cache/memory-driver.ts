import { LRUCache } from 'lru-cache'
import type { CacheDriver } from './cache-driver.js'
import { CACHE_DEFAULTS } from './cache-options.js'
import { newFenceToken } from './fence-token.js'
import { gcra } from './gcra.js'

/** Bounds of the in-process cache. */
export interface MemoryDriverOptions {
  /** Most entries kept (default 10,000). */
  maxEntries?: number
  /** Most bytes of values kept (default 64 MiB). */
  maxBytes?: number
}

/**
 * The embedded cache: an in-process LRU bounded by entries and bytes, with per-entry
 * TTLs. Fences and counters live in a second LRU so that values never evict them.
 *
 * @example
 * ```ts
 * const driver = memoryDriver({ maxEntries: 50_000, maxBytes: 128 * 1024 * 1024 })
 * ```
 */
export function memoryDriver(options: MemoryDriverOptions = {}): CacheDriver {
  const values = new LRUCache<string, Buffer>({
    max: options.maxEntries ?? CACHE_DEFAULTS.memory.maxEntries,
    maxSize: options.maxBytes ?? CACHE_DEFAULTS.memory.maxBytes,
    sizeCalculation: (value, key) => value.byteLength + key.length,
  })
  const counters = new LRUCache<string, string>({
    max: Math.max(1000, (options.maxEntries ?? CACHE_DEFAULTS.memory.maxEntries) * 2),
  })
  const indexes = new LRUCache<string, Set<string>>({
    max: Math.max(1000, options.maxEntries ?? CACHE_DEFAULTS.memory.maxEntries),
  })
  // Expiring sets: each member's expiry time; the set lives as long as its longest member.
  const expiring = new LRUCache<string, Map<string, number>>({
    max: Math.max(1000, options.maxEntries ?? CACHE_DEFAULTS.memory.maxEntries),
  })
  const liveMembers = (key: string, now: number) => {
    const set = expiring.get(key)
    if (set) for (const [member, expiresAt] of set) if (expiresAt <= now) set.delete(member)
    return set
  }
  const deleteAll = (keys: readonly string[]) =>
    keys.reduce((n, key) => n + (values.delete(key) ? 1 : 0), 0)

  return {
    kind: 'memory',
    async get(key) {
      return values.get(key) ?? null
    },
    async set(key, value, ttlMs) {
      values.set(key, value, { ttl: ttlMs })
    },
    async delete(keys) {
      return deleteAll(keys) + keys.reduce((n, key) => n + (counters.delete(key) ? 1 : 0), 0)
    },
    async increment(key, ttlMs) {
      const next = Number(counters.get(key) ?? 0) + 1
      counters.set(key, String(next), { ttl: ttlMs })
      return next
    },
    async fence(fenceKey, ttlMs) {
      const existing = counters.get(fenceKey)
      if (existing !== undefined) return existing
      const token = newFenceToken()
      counters.set(fenceKey, token, { ttl: ttlMs })
      return token
    },
    async setIfFence(key, value, ttlMs, fenceKey, token) {
      if (counters.get(fenceKey) !== token) return false
      values.set(key, value, { ttl: ttlMs })
      return true
    },
    async claim(key, fenceKey, fenceTtlMs, leaseKey, holder, leaseTtlMs) {
      const value = values.get(key)
      if (value !== undefined) return { value }
      let token = counters.get(fenceKey)
      if (token === undefined) {
        token = newFenceToken()
        counters.set(fenceKey, token, { ttl: fenceTtlMs })
      }
      const leased = !counters.has(leaseKey)
      if (leased) counters.set(leaseKey, holder, { ttl: leaseTtlMs })
      return { token, leased }
    },
    async releaseLease(leaseKey, holder) {
      if (counters.get(leaseKey) === holder) counters.delete(leaseKey)
    },
    async invalidate(keys, fenceKeys, fenceTtlMs) {
      for (const fenceKey of fenceKeys) counters.set(fenceKey, newFenceToken(), { ttl: fenceTtlMs })
      deleteAll(keys)
    },
    async rateLimit(key, intervalMs, toleranceMs, cost) {
      const now = Date.now()
      const stored = counters.get(key)
      const { decision, tat } = gcra(
        stored === undefined ? undefined : Number(stored),
        now,
        intervalMs,
        toleranceMs,
        cost,
      )
      if (tat !== undefined)
        counters.set(key, String(tat), { ttl: Math.max(1, Math.ceil(tat - now)) })
      return decision
    },
    async expire(key, ttlMs) {
      const value = values.get(key)
      if (value === undefined) return false
      values.set(key, value, { ttl: ttlMs })
      return true
    },
    async indexAdd(indexKey, member, ttlMs) {
      const set = indexes.get(indexKey) ?? new Set<string>()
      set.add(member)
      const remaining = indexes.getRemainingTTL(indexKey)
      indexes.set(indexKey, set, {
        ttl: Math.max(ttlMs, Number.isFinite(remaining) ? remaining : 0),
      })
    },
    async indexRemove(indexKey, member) {
      indexes.get(indexKey)?.delete(member)
    },
    async indexDeleteAll(indexKey) {
      const members = [...(indexes.get(indexKey) ?? [])]
      indexes.delete(indexKey)
      return deleteAll(members)
    },
    async memberAdd(key, member, ttlMs) {
      const now = Date.now()
      const set = liveMembers(key, now) ?? new Map<string, number>()
      const added = !set.has(member)
      set.set(member, now + ttlMs)
      expiring.set(key, set, { ttl: Math.max(...set.values()) - now })
      return added
    },
    async memberRemove(key, member) {
      return liveMembers(key, Date.now())?.delete(member) ?? false
    },
    async members(key) {
      const set = liveMembers(key, Date.now())
      return [...(set ?? [])]
        .map(([member, expiresAt]) => ({ member, expiresAt }))
        .sort((a, b) => a.expiresAt - b.expiresAt)
    },
    async deleteByPrefix(prefix) {
      let n = 0
      for (const store of [values, counters, indexes, expiring] as LRUCache<
        string,
        object | string
      >[]) {
        for (const key of [...store.keys()]) if (key.startsWith(prefix) && store.delete(key)) n++
      }
      return n
    },
    async ping() {},
    async close() {
      values.clear()
      counters.clear()
      indexes.clear()
      expiring.clear()
    },
  }
}
