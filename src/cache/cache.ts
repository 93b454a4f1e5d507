import { StratumError } from '../errors.js'
import type { CacheDriver } from './cache-driver.js'
import { decodeValue, encodeValue } from './serializer.js'

/** Settings of the front cache layer. */
export interface CacheOptions {
  /** Prepended to every key, so apps and test files can share one Redis (default `stratum:`). */
  prefix?: string
  /** TTL when a call gives none (default 5 minutes). */
  defaultTtlMs?: number
  /** Largest serialized value accepted (default 1 MiB). */
  maxValueBytes?: number
}

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
}

/** What a cache event listener receives. */
export interface CacheEvent {
  readonly type: keyof CacheStats
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
  readonly #stats: CacheStats = { hits: 0, misses: 0, sets: 0, deletes: 0, errors: 0, bypasses: 0 }
  readonly #listeners = new Set<(event: CacheEvent) => void>()

  constructor(driver: CacheDriver, options: CacheOptions = {}) {
    this.#driver = driver
    this.#prefix = options.prefix ?? 'stratum:'
    this.#defaultTtlMs = options.defaultTtlMs ?? 300_000
    this.#maxValueBytes = options.maxValueBytes ?? 1024 * 1024
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
    const full = this.#key(key)
    let bytes: Buffer | undefined
    try {
      bytes = await this.#driver.get(full)
    } catch (error) {
      this.#count('errors', key, error)
      return undefined
    }
    if (bytes === undefined) {
      this.#count('misses', key)
      return undefined
    }
    try {
      const value = decodeValue(bytes) as T
      this.#count('hits', key)
      return value
    } catch (error) {
      this.#count('bypasses', key, error)
      await this.#driver.delete([full]).catch(() => {})
      return undefined
    }
  }

  /**
   * Stores `value` for `ttlMs`. Resolves to false when the backend failed (counted);
   * throws `VALIDATION` for a value that cannot be cached.
   */
  async set(key: string, value: unknown, options: { ttlMs?: number } = {}): Promise<boolean> {
    const full = this.#key(key)
    const bytes = this.#encode(key, value)
    try {
      await this.#driver.set(full, bytes, this.#ttl(options.ttlMs))
      this.#count('sets', key)
      return true
    } catch (error) {
      this.#count('errors', key, error)
      return false
    }
  }

  /** Deletes keys; resolves to false when the backend failed (counted). */
  async delete(...keys: string[]): Promise<boolean> {
    const full = keys.map((k) => this.#key(k))
    try {
      await this.#driver.delete(full)
      for (const key of keys) this.#count('deletes', key)
      return true
    } catch (error) {
      this.#count('errors', keys.join(','), error)
      return false
    }
  }

  /** Deletes every key under this cache's prefix; rejects on backend trouble. */
  async clear(): Promise<number> {
    return this.#driver.deleteByPrefix(this.#prefix)
  }

  /** A copy of the counters. */
  stats(): CacheStats {
    return { ...this.#stats }
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

  #count(type: keyof CacheStats, key: string, error?: unknown): void {
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
