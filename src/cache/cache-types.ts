import type { L1Options } from './l1-tier.js'
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
