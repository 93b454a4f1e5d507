import { StratumError } from '../errors.js'
import type { CacheDriver, Claim } from './cache-driver.js'
import { newFenceToken } from './fence-token.js'
import { decodeValue, encodeValue } from './serializer.js'

/** Settings of the front cache layer. */
export interface CacheOptions {
  /** Prepended to every key, so apps and test files can share one Redis (default `stratum:`). */
  prefix?: string
  /** TTL when a call gives none (default 5 minutes). */
  defaultTtlMs?: number
  /** Largest serialized value accepted (default 1 MiB). */
  maxValueBytes?: number
  /** Fraction by which read-through TTLs are randomly shortened, to spread expiries (default 0.1). */
  ttlJitter?: number
  /**
   * For tests only: `fencing: false` fills without fence checks (the classic race comes
   * back), and `beforeFill` runs between the source read and the fill.
   */
  testing?: { fencing?: boolean; beforeFill?: (key: string) => Promise<void> }
  /**
   * After `failureThreshold` backend failures in a row the circuit opens: for
   * `cooldownMs` calls skip the backend entirely (counted as bypasses) and reads go
   * straight to the source. Defaults: 5 failures, 1,000 ms.
   */
  circuitBreaker?: { failureThreshold?: number; cooldownMs?: number }
  /**
   * How long one reader's load lease lasts (default 1,000 ms). Concurrent misses for a key
   * in other processes wait up to this long for its fill before loading themselves.
   */
  leaseTtlMs?: number
}

/** TTLs of one read-through call. */
export interface ReadThroughOptions {
  /** How long a found value is cached. */
  ttlMs: number
  /** How long a `null` (not found) is cached; not cached when absent. */
  negativeTtlMs?: number | undefined
}

const FENCE_SUFFIX = '#fence'
const LEASE_SUFFIX = '#lease'
const MAX_LEASE_POLL_MS = 20
const RETRY_INVALIDATIONS_MS = 500

/** Counters since the cache was created. */
export interface CacheStats {
  hits: number
  misses: number
  sets: number
  deletes: number
  /** Backend failures (the call then behaved as a miss or did nothing). */
  errors: number
  /** Values not cached because they could not be (too large, not serializable, unreadable). */
  bypasses: number
  /** Fills refused because a write invalidated the key while the value was being loaded. */
  fencedFills: number
  /** Loads from the source made by read-through misses (concurrent misses share one). */
  loads: number
  /** Misses that waited for another process's load (its lease) instead of loading. */
  leaseWaits: number
  /** Invalidations that failed and wait to be retried (their keys bypass the cache). */
  pendingInvalidations: number
  /** Whether the circuit breaker is open (the backend is being skipped). */
  circuitOpen: boolean
}

/** What a cache event listener receives. */
export interface CacheEvent {
  readonly type: keyof Omit<CacheStats, 'pendingInvalidations' | 'circuitOpen'>
  /** The key without the prefix. */
  readonly key: string
  readonly error?: unknown
}

const MAX_KEY_LENGTH = 1024
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it rejects
const UNSAFE_KEY = /[\u0000-\u0020\u007f]/

/**
 * A typed cache over a {@link CacheDriver}: keys under a prefix, values kept with their
 * types (Date, bigint, Buffer, Uint8Array, Map, Set, null, nested objects), every outcome
 * counted. Backend trouble never throws from `get`, `set` or `delete`: it is counted as an
 * error and the call behaves as a miss. Bad keys and values the cache cannot store throw
 * `INVALID_KEY` and `VALIDATION`.
 *
 * @example
 * ```ts
 * await data.cache.set('report:42', { at: new Date(), total: 10n }, { ttlMs: 60_000 })
 * const report = await data.cache.get<{ at: Date; total: bigint }>('report:42')
 * ```
 */
export class Cache {
  readonly #driver: CacheDriver
  readonly #prefix: string
  readonly #defaultTtlMs: number
  readonly #maxValueBytes: number
  readonly #stats: Omit<CacheStats, 'pendingInvalidations' | 'circuitOpen'> = {
    hits: 0,
    misses: 0,
    sets: 0,
    deletes: 0,
    errors: 0,
    bypasses: 0,
    fencedFills: 0,
    loads: 0,
    leaseWaits: 0,
  }
  readonly #listeners = new Set<(event: CacheEvent) => void>()
  readonly #ttlJitter: number
  readonly #fencing: boolean
  readonly #beforeFill: ((key: string) => Promise<void>) | undefined
  /** Loads in progress in this process, by full key (single flight). */
  readonly #inflight = new Map<string, Promise<unknown>>()
  /** Full keys whose invalidation failed; they bypass the cache until it succeeds. */
  readonly #pending = new Set<string>()
  #retryTimer: NodeJS.Timeout | undefined
  readonly #failureThreshold: number
  readonly #cooldownMs: number
  readonly #leaseTtlMs: number
  #consecutiveFailures = 0
  #openUntil = 0

  constructor(driver: CacheDriver, options: CacheOptions = {}) {
    this.#driver = driver
    this.#prefix = options.prefix ?? 'stratum:'
    this.#defaultTtlMs = options.defaultTtlMs ?? 300_000
    this.#maxValueBytes = options.maxValueBytes ?? 1024 * 1024
    this.#ttlJitter = options.ttlJitter ?? 0.1
    this.#fencing = options.testing?.fencing ?? true
    this.#beforeFill = options.testing?.beforeFill
    this.#failureThreshold = options.circuitBreaker?.failureThreshold ?? 5
    this.#cooldownMs = options.circuitBreaker?.cooldownMs ?? 1000
    this.#leaseTtlMs = options.leaseTtlMs ?? 1000
  }

  /** Which backend stores the values (`memory`, `redis`, ...). */
  get kind(): string {
    return this.#driver.kind
  }

  /** The key prefix of this cache. */
  get prefix(): string {
    return this.#prefix
  }

  /** The value under `key`, or undefined on a miss (and on backend trouble, counted). */
  async get<T = unknown>(key: string): Promise<T | undefined> {
    const found = await this.#lookup(key, this.#key(key))
    return found.hit ? (found.value as T) : undefined
  }

  /**
   * Reads one key from the backend, counting the outcome. `hit: false` covers a miss, a
   * skipped backend (pending invalidation, open circuit), a failure and an unreadable
   * value (which is deleted).
   */
  async #lookup(
    key: string,
    full: string,
  ): Promise<{ hit: true; value: unknown } | { hit: false }> {
    if (this.#pending.has(full) || this.#circuitIsOpen()) {
      this.#count('bypasses', key)
      return { hit: false }
    }
    let bytes: Buffer | undefined
    try {
      bytes = await this.#driver.get(full)
      this.#succeeded()
    } catch (error) {
      this.#failed(key, error)
      return { hit: false }
    }
    if (bytes === undefined) {
      this.#count('misses', key)
      return { hit: false }
    }
    try {
      const value = decodeValue(bytes)
      this.#count('hits', key)
      return { hit: true, value }
    } catch (error) {
      this.#count('bypasses', key, error)
      await this.#driver.delete([full]).catch(() => {})
      return { hit: false }
    }
  }

  /**
   * Stores `value` for `ttlMs`. Resolves to false when the backend failed (counted);
   * throws `VALIDATION` for a value that cannot be cached.
   */
  async set(key: string, value: unknown, options: { ttlMs?: number } = {}): Promise<boolean> {
    const full = this.#key(key)
    const bytes = this.#encode(key, value)
    const ttl = this.#ttl(options.ttlMs)
    if (this.#circuitIsOpen()) {
      this.#count('bypasses', key)
      return false
    }
    try {
      await this.#driver.set(full, bytes, ttl)
      this.#succeeded()
      this.#count('sets', key)
      return true
    } catch (error) {
      this.#failed(key, error)
      return false
    }
  }

  /** Deletes keys; resolves to false when the backend failed (counted). */
  async delete(...keys: string[]): Promise<boolean> {
    const full = keys.map((k) => this.#key(k))
    if (this.#circuitIsOpen()) {
      // A delete that cannot be sent is an invalidation to retry, never a silent loss.
      for (const key of full) this.#pending.add(key)
      this.#scheduleRetry()
      this.#count('bypasses', keys.join(','))
      return false
    }
    try {
      await this.#driver.delete(full)
      this.#succeeded()
      for (const key of keys) this.#count('deletes', key)
      return true
    } catch (error) {
      this.#failed(keys.join(','), error)
      for (const key of full) this.#pending.add(key)
      this.#scheduleRetry()
      return false
    }
  }

  /**
   * Cache-aside read: the cached value of `key`, or `load()`'s result, which is then
   * cached. Concurrent misses for one key in this process share one load. The fill is
   * fenced: if {@link invalidate} ran for the key after this load began, the fill is
   * refused, so a slow reader never puts an old value back. Backend trouble makes the
   * call a plain `load()` (counted). Errors of `load` reach the caller.
   */
  async readThrough<T>(
    key: string,
    load: () => Promise<T>,
    options: ReadThroughOptions,
  ): Promise<T> {
    const full = this.#key(key)
    const found = await this.#lookup(key, full)
    if (found.hit) return found.value as T
    if (this.#pending.has(full) || this.#circuitIsOpen()) return load()
    const running = this.#inflight.get(full)
    if (running) return running as Promise<T>
    const loading = this.#fill(key, full, load, options).finally(() => {
      if (this.#inflight.get(full) === loading) this.#inflight.delete(full)
    })
    this.#inflight.set(full, loading)
    return loading
  }

  /**
   * Cache-aside read of one member of a group (for example the first page of a user's
   * chats): the group's fence token is its generation and is part of the member's key, so
   * invalidating the group makes every member unreachable at once, and a fill that began
   * before the invalidation is refused.
   */
  async readThroughGroup<T>(
    group: string,
    member: string,
    load: () => Promise<T>,
    options: ReadThroughOptions,
  ): Promise<T> {
    const groupFull = this.#key(group)
    if (this.#pending.has(groupFull) || this.#circuitIsOpen()) {
      this.#count('bypasses', group)
      return load()
    }
    const fenceKey = groupFull + FENCE_SUFFIX
    let token: string
    try {
      token = await this.#driver.fence(fenceKey, options.ttlMs * 2)
      this.#succeeded()
    } catch (error) {
      this.#failed(group, error)
      return load()
    }
    const key = `${group}@${token}:${member}`
    const full = this.#key(key)
    const found = await this.#lookup(key, full)
    if (found.hit) return found.value as T
    const running = this.#inflight.get(full)
    if (running) return running as Promise<T>
    const loading = this.#fill(key, full, load, options, { fenceKey, token }).finally(() => {
      if (this.#inflight.get(full) === loading) this.#inflight.delete(full)
    })
    this.#inflight.set(full, loading)
    return loading
  }

  async #fill<T>(
    key: string,
    full: string,
    load: () => Promise<T>,
    options: ReadThroughOptions,
    known?: { fenceKey: string; token: string },
  ): Promise<T> {
    const fenceKey = known?.fenceKey ?? full + FENCE_SUFFIX
    const fenceTtl = Math.max(options.ttlMs, options.negativeTtlMs ?? 0) * 2
    if (!this.#fencing) return this.#loadAndStore(key, full, load, options, undefined)
    const leaseKey = full + LEASE_SUFFIX
    const holder = newFenceToken()
    const deadline = performance.now() + this.#leaseTtlMs
    let pause = 1
    for (;;) {
      let claim: Claim
      try {
        // Taken before the source is read: a write committed after this point changes the
        // token. Only the lease holder loads; the others wait for its fill.
        claim = await this.#driver.claim(
          full,
          fenceKey,
          fenceTtl,
          leaseKey,
          holder,
          this.#leaseTtlMs,
        )
        this.#succeeded()
      } catch (error) {
        this.#failed(key, error)
        this.#count('loads', key)
        return load()
      }
      if (claim.value !== undefined) {
        try {
          return decodeValue(claim.value) as T
        } catch (error) {
          this.#count('bypasses', key, error)
          this.#count('loads', key)
          return load()
        }
      }
      const token = known?.token ?? claim.token
      if (claim.leased) {
        try {
          return await this.#loadAndStore(key, full, load, options, { fenceKey, token })
        } finally {
          this.#driver.releaseLease(leaseKey, holder).catch(() => {})
        }
      }
      // Another process is loading. Past the lease's lifetime, load without it (still fenced).
      if (performance.now() >= deadline) {
        return this.#loadAndStore(key, full, load, options, { fenceKey, token })
      }
      if (pause === 1) this.#count('leaseWaits', key)
      await new Promise((resolve) => setTimeout(resolve, pause))
      pause = Math.min(pause * 2, MAX_LEASE_POLL_MS)
    }
  }

  /** Loads from the source and stores the value, fenced by `fence` when given. */
  async #loadAndStore<T>(
    key: string,
    full: string,
    load: () => Promise<T>,
    options: ReadThroughOptions,
    fence: { fenceKey: string; token: string } | undefined,
  ): Promise<T> {
    this.#count('loads', key)
    const value = await load()
    if (value === null && options.negativeTtlMs === undefined) return value
    let bytes: Buffer
    try {
      bytes = this.#encode(key, value)
    } catch {
      return value
    }
    if (this.#beforeFill) await this.#beforeFill(key)
    const ttl = this.#jitter(value === null ? options.negativeTtlMs! : options.ttlMs)
    try {
      if (fence === undefined) {
        await this.#driver.set(full, bytes, ttl)
        this.#count('sets', key)
      } else if (await this.#driver.setIfFence(full, bytes, ttl, fence.fenceKey, fence.token)) {
        this.#count('sets', key)
      } else {
        this.#count('fencedFills', key)
      }
    } catch (error) {
      this.#failed(key, error)
    }
    return value
  }

  /**
   * Deletes the keys and moves their fences, so fills that began before cannot store
   * their values. Call it after the write that changed the source has committed. If the
   * backend fails, the keys bypass the cache until a retry succeeds (every 500 ms).
   * Never throws on backend trouble.
   */
  async invalidate(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return
    const full = keys.map((k) => this.#key(k))
    for (const key of full) this.#inflight.delete(key)
    if (this.#circuitIsOpen()) {
      for (const key of full) this.#pending.add(key)
      this.#scheduleRetry()
      this.#count('bypasses', keys.join(','))
      return
    }
    try {
      await this.#driver.invalidate(
        full,
        full.map((k) => k + FENCE_SUFFIX),
        Math.max(this.#defaultTtlMs, 60_000) * 2,
      )
      this.#succeeded()
      for (const key of keys) this.#count('deletes', key)
    } catch (error) {
      this.#failed(keys.join(','), error)
      for (const key of full) this.#pending.add(key)
      this.#scheduleRetry()
    }
  }

  #scheduleRetry(): void {
    if (this.#retryTimer) return
    this.#retryTimer = setTimeout(async () => {
      this.#retryTimer = undefined
      const keys = [...this.#pending]
      try {
        await this.#driver.invalidate(
          keys,
          keys.map((k) => k + FENCE_SUFFIX),
          Math.max(this.#defaultTtlMs, 60_000) * 2,
        )
        for (const key of keys) this.#pending.delete(key)
        // The retry doubles as the half-open probe: it worked, so close the circuit.
        this.#succeeded()
      } catch {
        // Still unreachable: the keys keep bypassing the cache.
      }
      if (this.#pending.size > 0) this.#scheduleRetry()
    }, RETRY_INVALIDATIONS_MS)
    this.#retryTimer.unref()
  }

  #circuitIsOpen(): boolean {
    return this.#openUntil > 0 && performance.now() < this.#openUntil
  }

  #succeeded(): void {
    this.#consecutiveFailures = 0
    this.#openUntil = 0
  }

  #failed(key: string, error: unknown): void {
    this.#count('errors', key, error)
    this.#consecutiveFailures++
    if (this.#consecutiveFailures >= this.#failureThreshold) {
      this.#openUntil = performance.now() + this.#cooldownMs
    }
  }

  #jitter(ttlMs: number): number {
    return Math.max(1, Math.round(ttlMs * (1 - this.#ttlJitter * Math.random())))
  }

  /** Deletes every key under this cache's prefix; rejects on backend trouble. */
  async clear(): Promise<number> {
    return this.#driver.deleteByPrefix(this.#prefix)
  }

  /** A copy of the counters. */
  stats(): CacheStats {
    return {
      ...this.#stats,
      pendingInvalidations: this.#pending.size,
      circuitOpen: this.#circuitIsOpen(),
    }
  }

  /** Calls `listener` for every counted outcome; returns a function that unsubscribes. */
  subscribe(listener: (event: CacheEvent) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** Resolves when the backend answers; rejects otherwise. */
  ping(): Promise<void> {
    return this.#driver.ping()
  }

  /** Closes the backend connection (a client you passed in stays open). */
  close(): Promise<void> {
    clearTimeout(this.#retryTimer)
    this.#retryTimer = undefined
    return this.#driver.close()
  }

  #key(key: string): string {
    if (
      typeof key !== 'string' ||
      key.length === 0 ||
      key.length > MAX_KEY_LENGTH ||
      UNSAFE_KEY.test(key)
    ) {
      throw new StratumError(
        'INVALID_KEY',
        `Cache keys must be 1 to ${MAX_KEY_LENGTH} characters without spaces or control characters`,
      )
    }
    return this.#prefix + key
  }

  #ttl(ttlMs: number | undefined): number {
    const ttl = ttlMs ?? this.#defaultTtlMs
    if (!Number.isFinite(ttl) || ttl <= 0) {
      throw new StratumError('VALIDATION', 'Cache TTL must be a positive number of milliseconds')
    }
    return ttl
  }

  #encode(key: string, value: unknown): Buffer {
    let bytes: Buffer
    try {
      bytes = encodeValue(value)
    } catch (error) {
      this.#count('bypasses', key, error)
      throw new StratumError(
        'VALIDATION',
        `Cache value for ${key} cannot be serialized (${(error as Error).message})`,
        {
          cause: error,
        },
      )
    }
    if (bytes.byteLength > this.#maxValueBytes) {
      this.#count('bypasses', key)
      throw new StratumError(
        'VALIDATION',
        `Cache value for ${key} is ${bytes.byteLength} bytes, over the limit of ${this.#maxValueBytes} (maxValueBytes)`,
      )
    }
    return bytes
  }

  #count(type: CacheEvent['type'], key: string, error?: unknown): void {
    this.#stats[type]++
    if (this.#listeners.size === 0) return
    const event: CacheEvent = error === undefined ? { type, key } : { type, key, error }
    for (const listener of this.#listeners) {
      try {
        listener(event)
      } catch {
        // A listener's failure must not break the cache call.
      }
    }
  }
}
