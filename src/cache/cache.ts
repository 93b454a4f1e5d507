import { ValidationError } from '../errors.js'
import { CacheCounters } from './cache-counters.js'
import type { CacheDriver, Subscription } from './cache-driver.js'
import { CACHE_DEFAULTS } from './cache-options.js'
import type { CacheEvent, CacheOptions, CacheStats, ReadThroughOptions } from './cache-types.js'
import { CircuitBreaker } from './circuit-breaker.js'
import { type Coordination, coordinationOf } from './coordination.js'
import { newFenceToken } from './fence-token.js'
import { type FillContext, fencedFill } from './fenced-fill.js'
import {
  FENCE_SUFFIX,
  fullCacheKey,
  LEASE_SUFFIX,
  parseInvalidation,
  withFences,
} from './key-space.js'
import { L1Tier } from './l1-tier.js'
import { PendingInvalidations } from './pending-invalidations.js'
import { decodeValue, UndecodableValue } from './serializer.js'
import type { CacheTestHooks } from './test-hooks.js'
import type { ValueCodec } from './value-codec.js'
import { checkedTtl, encodeWithin } from './value-limits.js'

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
const RETRY_INVALIDATIONS_MS = 500

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
  #coordination: Coordination | undefined
  #closed = false
  readonly #defaultTtlMs: number
  readonly #maxValueBytes: number
  readonly #counters = new CacheCounters()
  readonly #fillContext: FillContext
  /** Loads in progress in this process, by full key (single flight). */
  readonly #inflight = new Map<string, Promise<unknown>>()
  /** Full keys whose invalidation failed; they bypass the cache until it succeeds. */
  readonly #pending = new PendingInvalidations(
    (full) => this.#retryInvalidations(full),
    RETRY_INVALIDATIONS_MS,
  )
  readonly #circuit: CircuitBreaker
  readonly #l1: L1Tier | undefined
  readonly #l1Channel: string
  readonly #subscription: Subscription | undefined
  readonly #codecs = new Map<string, ValueCodec>()
  /** Marks this instance's own invalidation messages, which it has already applied. */
  readonly #origin = newFenceToken()

  /** @internal `hooks` are for the project's own tests and bench only. */
  constructor(driver: CacheDriver, options: CacheOptions = {}, hooks?: CacheTestHooks) {
    this.#driver = driver
    this.#prefix = options.prefix ?? CACHE_DEFAULTS.prefix
    this.#defaultTtlMs = options.defaultTtlMs ?? CACHE_DEFAULTS.defaultTtlMs
    this.#maxValueBytes = options.maxValueBytes ?? CACHE_DEFAULTS.maxValueBytes
    this.#circuit = new CircuitBreaker({
      failureThreshold:
        options.circuitBreaker?.failureThreshold ?? CACHE_DEFAULTS.circuitBreaker.failureThreshold,
      cooldownMs: options.circuitBreaker?.cooldownMs ?? CACHE_DEFAULTS.circuitBreaker.cooldownMs,
    })
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
          this.#counters.count('l1Resets', this.#l1Channel)
        },
      })
    }
    this.#fillContext = {
      driver,
      counters: this.#counters,
      codecs: this.#codecs,
      circuit: this.#circuit,
      leaseTtlMs: options.leaseTtlMs ?? CACHE_DEFAULTS.leaseTtlMs,
      ttlJitter: options.ttlJitter ?? CACHE_DEFAULTS.ttlJitter,
      fencing: hooks?.fencing ?? true,
      beforeFill: hooks?.beforeFill,
      l1: this.#l1,
      liveL1: () => this.#liveL1(),
      failed: (key, error) => this.#failed(key, error),
      encode: (key, value, codec) => this.#encode(key, value, codec),
    }
  }

  /**
   * Lets this cache read values written with `codec` (by any process). Read-through calls
   * register their codec themselves; register it up front so that `get` can read such
   * values before the first of them.
   */
  registerCodec(codec: ValueCodec): void {
    if (Buffer.byteLength(codec.id) > 255) {
      throw new ValidationError('cache.registerCodec', [
        { path: 'id', message: 'must be at most 255 bytes' },
      ])
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

  /**
   * Shared state and pub/sub on this cache's backend, for coordination between processes
   * (resumable streams, live state): every process on Redis, this process only on the
   * in-memory default (see {@link Coordination.scope}).
   */
  get coordination(): Coordination {
    this.#coordination ??= coordinationOf(this.#driver, this.#prefix, {
      maxValueBytes: this.#maxValueBytes,
      closed: () => this.#closed,
    })
    return this.#coordination
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
    if (this.#pending.has(full) || this.#circuit.open) {
      this.#counters.count('bypasses', key)
      return settle(ifMissing)
    }
    const l1 = this.#liveL1()
    if (l1) {
      const local = l1.get(full)
      if (local) {
        this.#counters.count('l1Hits', key)
        this.#counters.count('hits', key)
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
        this.#circuit.succeeded()
        if (bytes === null || bytes === undefined) {
          this.#counters.count('misses', key)
          return ifMissing()
        }
        let value: unknown
        try {
          value = decodeValue(bytes, this.#codecs)
        } catch (error) {
          this.#counters.count('bypasses', key, error)
          // Another deploy's codec wrote it: leave it to that deploy. Garbage: remove it.
          if (error instanceof UndecodableValue && error.foreign) return ifMissing()
          return this.#driver
            .delete([full])
            .catch(() => {})
            .then(ifMissing)
        }
        this.#counters.count('hits', key)
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
    if (this.#circuit.open) {
      this.#counters.count('bypasses', key)
      return false
    }
    try {
      await this.#driver.set(full, bytes, ttl)
      this.#circuit.succeeded()
      this.#counters.count('sets', key)
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
    if (this.#circuit.open) {
      // A delete that cannot be sent is an invalidation to retry, never a silent loss.
      this.#pending.add(full)
      this.#counters.count('bypasses', keys.join(','))
      return false
    }
    try {
      await this.#driver.delete(full)
      this.#circuit.succeeded()
      for (const key of keys) this.#counters.count('deletes', key)
      this.#publish(full)
      return true
    } catch (error) {
      this.#failed(keys.join(','), error)
      this.#pending.add(full)
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
      this.#pending.has(full) || this.#circuit.open
        ? load()
        : this.#singleFlight(full, () => fencedFill(this.#fillContext, key, full, load, options)),
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
    if (this.#pending.has(groupFull) || this.#circuit.open) {
      this.#counters.count('bypasses', group)
      return load()
    }
    const fenceKey = groupFull + FENCE_SUFFIX
    const l1 = this.#liveL1()
    let token = l1?.get(fenceKey)?.value as string | undefined
    if (token === undefined) {
      const epoch = l1?.epoch ?? 0
      try {
        token = await this.#driver.fence(fenceKey, options.ttlMs * 2)
        this.#circuit.succeeded()
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
      this.#singleFlight(full, () =>
        fencedFill(this.#fillContext, key, full, load, options, { fenceKey, token }),
      ),
    ) as Promise<T>
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
    if (this.#circuit.open) {
      this.#pending.add(full)
      this.#counters.count('bypasses', keys.join(','))
      return
    }
    try {
      await this.#invalidateInDriver(full)
      this.#circuit.succeeded()
      for (const key of keys) this.#counters.count('deletes', key)
      this.#publish(full)
    } catch (error) {
      this.#failed(keys.join(','), error)
      this.#pending.add(full)
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
    return this.#l1 && this.#subscription?.live && !this.#circuit.tripped ? this.#l1 : undefined
  }

  /** Deletes `full` keys in the driver and moves their fences (kept past any fill). */
  #invalidateInDriver(full: readonly string[]): Promise<unknown> {
    return this.#driver.invalidate(
      full,
      full.map((k) => k + FENCE_SUFFIX),
      Math.max(this.#defaultTtlMs, 60_000) * 2,
    )
  }

  /** A retry of failed invalidations; it doubles as the circuit's half-open probe. */
  async #retryInvalidations(full: string[]): Promise<void> {
    await this.#invalidateInDriver(full)
    this.#publish(full)
    this.#circuit.succeeded()
  }

  #failed(key: string, error: unknown): void {
    this.#counters.count('errors', key, error)
    // Invalidations may be missed while the backend is away: start the L1 over.
    if (this.#circuit.failed() && this.#l1) {
      this.#l1.clear()
      this.#counters.count('l1Resets', key)
    }
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
      ...this.#counters.snapshot(),
      pendingInvalidations: this.#pending.size,
      circuitOpen: this.#circuit.open,
    }
  }

  /** Calls `listener` for every counted outcome; returns a function that unsubscribes. */
  subscribe(listener: (event: CacheEvent) => void): () => void {
    return this.#counters.subscribe(listener)
  }

  /** Resolves when the backend answers; rejects otherwise. */
  ping(): Promise<void> {
    return this.#driver.ping()
  }

  /** Closes the backend connection (a client you passed in stays open). */
  async close(): Promise<void> {
    this.#closed = true
    this.#pending.stop()
    await this.#subscription?.close()
    await this.#driver.close()
  }

  /** Whether the L1 tier is enabled and currently in use (subscribed, circuit closed). */
  get l1Live(): boolean {
    return this.#liveL1() !== undefined
  }

  #key(key: string): string {
    return fullCacheKey(this.#prefix, key)
  }

  #ttl(ttlMs: number | undefined): number {
    return checkedTtl(ttlMs, this.#defaultTtlMs, 'cache')
  }

  #encode(key: string, value: unknown, codec?: ValueCodec): Buffer {
    try {
      return encodeWithin(key, value, codec, this.#maxValueBytes)
    } catch (error) {
      this.#counters.count('bypasses', key, (error as Error).cause)
      throw error
    }
  }
}
