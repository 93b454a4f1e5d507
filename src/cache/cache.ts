import { StratumError } from '../errors.js'
import type { CacheDriver, Claim, Subscription } from './cache-driver.js'
import { newFenceToken } from './fence-token.js'
import { type L1Options, L1Tier } from './l1-tier.js'
import { decodeValue, encodeValue, UndecodableValue } from './serializer.js'
import type { ValueCodec } from './value-codec.js'

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
  /**
   * An in-process tier in front of a shared backend (Redis), off by default. Entries are
   * dropped when any process invalidates them (through the backend's pub/sub), all of them
   * when the subscription drops or the circuit opens, and each lives at most `ttlMs`
   * (default 5 s), the bound on staleness should a message be lost. Ignored on a backend
   * that is already in-process.
   */
  l1?: L1Options & { enabled?: boolean }
}

/** TTLs of one read-through call. */
export interface ReadThroughOptions {
  /** How long a found value is cached. */
  ttlMs: number
  /** How long a `null` (not found) is cached; not cached when absent. */
  negativeTtlMs?: number | undefined
  /** Encodes the value faster than the default serializer (see {@link Cache.registerCodec}). */
  codec?: ValueCodec | undefined
}

/** What `get` resolves to when it found nothing it can return. */
const nothing = (): undefined => undefined

/** `fn()`'s result as a promise, rejected if it throws. */
function settle(fn: () => unknown): Promise<unknown> {
  try {
    return Promise.resolve(fn())
  } catch (error) {
    return Promise.reject(error)
  }
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
  /** Hits served by the in-process L1 tier (also counted in `hits`). */
  l1Hits: number
  /** Times the L1 tier was emptied because messages may have been missed. */
  l1Resets: number
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

/**
 * The keys of an invalidation message from another instance (empty: drop everything), or
 * undefined for this instance's own messages and for anything unreadable.
 */
function parseInvalidation(message: string, origin: string): string[] | undefined {
  try {
    const parsed = JSON.parse(message) as { from?: unknown; keys?: unknown }
    if (parsed.from === origin || !Array.isArray(parsed.keys)) return undefined
    return parsed.keys.map(String)
  } catch {
    return undefined
  }
}

/** An invalidated key and its fence key: a group's L1-held token goes with the group. */
const withFences = (keys: readonly string[]): string[] =>
  keys.flatMap((key) => [key, key + FENCE_SUFFIX])

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
    l1Hits: 0,
    l1Resets: 0,
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
  readonly #l1: L1Tier | undefined
  readonly #l1Channel: string
  readonly #subscription: Subscription | undefined
  readonly #codecs = new Map<string, ValueCodec>()
  /** Marks this instance's own invalidation messages, which it has already applied. */
  readonly #origin = newFenceToken()
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
    this.#l1Channel = `${this.#prefix}l1:invalidate`
    const broadcast = driver.broadcast
    if (options.l1?.enabled && broadcast) {
      const l1 = new L1Tier(options.l1)
      this.#l1 = l1
      this.#subscription = broadcast.subscribe(this.#l1Channel, {
        onMessage: (message) => {
          const keys = parseInvalidation(message, this.#origin)
          if (keys === undefined) return
          if (keys.length === 0) l1.clear()
          else l1.invalidate(withFences(keys))
        },
        onReset: () => {
          l1.clear()
          this.#count('l1Resets', this.#l1Channel)
        },
      })
    }
  }

  /**
   * Lets this cache read values written with `codec` (by any process). Read-through calls
   * register their codec themselves; register it up front so that `get` can read such
   * values before the first of them.
   */
  registerCodec(codec: ValueCodec): void {
    if (Buffer.byteLength(codec.id) > 255) {
      throw new StratumError('VALIDATION', 'A codec id is at most 255 bytes')
    }
    this.#codecs.set(codec.id, codec)
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
  get<T = unknown>(key: string): Promise<T | undefined> {
    let full: string
    try {
      full = this.#key(key)
    } catch (error) {
      return Promise.reject(error)
    }
    return this.#lookup(key, full, nothing) as Promise<T | undefined>
  }

  /**
   * Reads one key from the backend, counting the outcome, and resolves to its value, or to
   * `ifMissing()`'s result when there is none it can return: a miss, a skipped backend
   * (pending invalidation, open circuit), a failure, or an unreadable value (deleted
   * first). One continuation on the driver's promise and no async frame: this is the hit
   * path, and each promise costs (more so where async hooks are on).
   */
  #lookup(key: string, full: string, ifMissing: () => unknown): Promise<unknown> {
    if (this.#pending.has(full) || this.#circuitIsOpen()) {
      this.#count('bypasses', key)
      return settle(ifMissing)
    }
    const l1 = this.#liveL1()
    if (l1) {
      const local = l1.get(full)
      if (local) {
        this.#count('l1Hits', key)
        this.#count('hits', key)
        return Promise.resolve(local.value)
      }
    }
    const epoch = l1?.epoch ?? 0
    let reading: Promise<Buffer | null>
    try {
      reading = this.#driver.get(full)
    } catch (error) {
      reading = Promise.reject(error)
    }
    return reading.then(
      (bytes) => {
        this.#succeeded()
        if (bytes === null || bytes === undefined) {
          this.#count('misses', key)
          return ifMissing()
        }
        let value: unknown
        try {
          value = decodeValue(bytes, this.#codecs)
        } catch (error) {
          this.#count('bypasses', key, error)
          // Another deploy's codec wrote it: leave it to that deploy. Garbage: remove it.
          if (error instanceof UndecodableValue && error.foreign) return ifMissing()
          return this.#driver
            .delete([full])
            .catch(() => {})
            .then(ifMissing)
        }
        this.#count('hits', key)
        l1?.fill(full, value, epoch)
        return value
      },
      (error) => {
        this.#failed(key, error)
        return ifMissing()
      },
    )
  }

  /**
   * Stores `value` for `ttlMs`. Resolves to false when the backend failed (counted);
   * throws `VALIDATION` for a value that cannot be cached.
   */
  async set(key: string, value: unknown, options: { ttlMs?: number } = {}): Promise<boolean> {
    const full = this.#key(key)
    const bytes = this.#encode(key, value)
    const ttl = this.#ttl(options.ttlMs)
    this.#l1?.invalidate([full])
    if (this.#circuitIsOpen()) {
      this.#count('bypasses', key)
      return false
    }
    try {
      await this.#driver.set(full, bytes, ttl)
      this.#succeeded()
      this.#count('sets', key)
      this.#publish([full])
      return true
    } catch (error) {
      this.#failed(key, error)
      return false
    }
  }

  /** Deletes keys; resolves to false when the backend failed (counted). */
  async delete(...keys: string[]): Promise<boolean> {
    const full = keys.map((k) => this.#key(k))
    this.#l1?.invalidate(full)
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
      this.#publish(full)
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
  readThrough<T>(key: string, load: () => Promise<T>, options: ReadThroughOptions): Promise<T> {
    let full: string
    try {
      full = this.#key(key)
      if (options.codec && !this.#codecs.has(options.codec.id)) this.registerCodec(options.codec)
    } catch (error) {
      return Promise.reject(error)
    }
    return this.#lookup(key, full, () =>
      this.#pending.has(full) || this.#circuitIsOpen()
        ? load()
        : this.#singleFlight(full, () => this.#fill(key, full, load, options)),
    ) as Promise<T>
  }

  /** The load already running for `full` in this process, or a new one from `start`. */
  #singleFlight<T>(full: string, start: () => Promise<T>): Promise<T> {
    const running = this.#inflight.get(full)
    if (running) return running as Promise<T>
    const loading = start().finally(() => {
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
    if (options.codec && !this.#codecs.has(options.codec.id)) this.registerCodec(options.codec)
    if (this.#pending.has(groupFull) || this.#circuitIsOpen()) {
      this.#count('bypasses', group)
      return load()
    }
    const fenceKey = groupFull + FENCE_SUFFIX
    const l1 = this.#liveL1()
    let token = l1?.get(fenceKey)?.value as string | undefined
    if (token === undefined) {
      const epoch = l1?.epoch ?? 0
      try {
        token = await this.#driver.fence(fenceKey, options.ttlMs * 2)
        this.#succeeded()
      } catch (error) {
        this.#failed(group, error)
        return load()
      }
      l1?.fill(fenceKey, token, epoch)
    }
    const key = `${group}@${token}:${member}`
    this.#key(key) // validates the member part
    // In the group's hash slot (its tag), so a fenced fill checks the group's fence atomically.
    const full = `${groupFull}@${token}:${member}`
    return this.#lookup(key, full, () =>
      this.#singleFlight(full, () => this.#fill(key, full, load, options, { fenceKey, token })),
    ) as Promise<T>
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
      const epoch = this.#l1?.epoch ?? 0
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
          const value = decodeValue(claim.value, this.#codecs) as T
          this.#liveL1()?.fill(full, value, epoch)
          return value
        } catch (error) {
          this.#count('bypasses', key, error)
          this.#count('loads', key)
          return load()
        }
      }
      const token = known?.token ?? claim.token
      if (claim.leased) {
        try {
          return await this.#loadAndStore(key, full, load, options, { fenceKey, token, epoch })
        } finally {
          this.#driver.releaseLease(leaseKey, holder).catch(() => {})
        }
      }
      // Another process is loading. Past the lease's lifetime, load without it (still fenced).
      if (performance.now() >= deadline) {
        return this.#loadAndStore(key, full, load, options, { fenceKey, token, epoch })
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
    fence: { fenceKey: string; token: string; epoch: number } | undefined,
  ): Promise<T> {
    this.#count('loads', key)
    const value = await load()
    if (value === null && options.negativeTtlMs === undefined) return value
    let bytes: Buffer
    try {
      bytes = this.#encode(key, value, options.codec)
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
        this.#liveL1()?.fill(full, value, fence.epoch)
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
    this.#l1?.invalidate(withFences(full))
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
      this.#publish(full)
    } catch (error) {
      this.#failed(keys.join(','), error)
      for (const key of full) this.#pending.add(key)
      this.#scheduleRetry()
    }
  }

  /**
   * Removes every trace of `keys` and of the groups `groups` (their members too), for
   * erasure: first an ordinary invalidation (so no fill in flight can store and other
   * processes' L1 tiers drop them), then the values, fences and leases themselves. A
   * group's members are found with a prefix scan, so keep `groups` few.
   */
  async purge(keys: readonly string[], groups: readonly string[] = []): Promise<void> {
    await this.invalidate([...keys, ...groups])
    const full = [...keys, ...groups].map((k) => this.#key(k))
    await this.#driver.delete(full.flatMap((k) => [k, k + FENCE_SUFFIX, k + LEASE_SUFFIX]))
    for (const group of groups) await this.#driver.deleteByPrefix(`${this.#key(group)}@`)
  }

  /** Tells the other processes' L1 tiers to drop `full` keys (no-op without an L1). */
  #publish(full: readonly string[]): void {
    if (!this.#l1) return
    // Sent after the write on the same connection, so it arrives after the write took effect.
    const message = JSON.stringify({ from: this.#origin, keys: full })
    this.#driver.broadcast?.publish(this.#l1Channel, message).catch((error) => {
      this.#failed(full.join(','), error)
    })
  }

  /** The L1 tier when it can be trusted: enabled, subscribed, and the circuit closed. */
  #liveL1(): L1Tier | undefined {
    return this.#l1 && this.#subscription?.live && this.#openUntil === 0 ? this.#l1 : undefined
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
        this.#publish(keys)
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
      // Invalidations may be missed while the backend is away: start the L1 over.
      if (this.#l1) {
        this.#l1.clear()
        this.#count('l1Resets', key)
      }
    }
  }

  #jitter(ttlMs: number): number {
    return Math.max(1, Math.round(ttlMs * (1 - this.#ttlJitter * Math.random())))
  }

  /** Deletes every key under this cache's prefix; rejects on backend trouble. */
  async clear(): Promise<number> {
    this.#l1?.clear()
    const deleted = await this.#driver.deleteByPrefix(this.#prefix)
    this.#publish([])
    return deleted
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
  async close(): Promise<void> {
    clearTimeout(this.#retryTimer)
    this.#retryTimer = undefined
    await this.#subscription?.close()
    await this.#driver.close()
  }

  /** Whether the L1 tier is enabled and currently in use (subscribed, circuit closed). */
  get l1Live(): boolean {
    return this.#liveL1() !== undefined
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
    // The key is the hash tag: its value, fence and lease (and a group's members) share one
    // Redis Cluster slot, so every script touches keys of one slot.
    return `${this.#prefix}{${key}}`
  }

  #ttl(ttlMs: number | undefined): number {
    const ttl = ttlMs ?? this.#defaultTtlMs
    if (!Number.isFinite(ttl) || ttl <= 0) {
      throw new StratumError('VALIDATION', 'Cache TTL must be a positive number of milliseconds')
    }
    return ttl
  }

  #encode(key: string, value: unknown, codec?: ValueCodec): Buffer {
    let bytes: Buffer
    try {
      bytes = encodeValue(value, codec)
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
