import { LRUCache } from 'lru-cache'
import rfdc from 'rfdc'
import { CACHE_DEFAULTS } from './cache-options.js'

/** Bounds of the in-process L1 tier. */
export interface L1Options {
  /** Most entries kept (default 10,000). */
  maxEntries?: number
  /**
   * How long an entry lives (default 5,000 ms). It bounds staleness if an invalidation
   * message is lost while the subscriber still looks connected.
   */
  ttlMs?: number
}

const clone = rfdc({ circles: true, proto: false })

/**
 * Decoded values of the shared cache kept in this process, in front of it. Every caller
 * gets its own deep copy (rfdc), so a caller mutating a row cannot change what the next one
 * reads. The epoch moves on every invalidation and reset: a fill that started before it
 * moved is refused, so a value read from the shared cache before an invalidation arrived
 * never lands after it.
 * @internal
 */
export class L1Tier {
  readonly #entries: LRUCache<string, { value: unknown }>
  #epoch = 0

  constructor(options: L1Options = {}) {
    this.#entries = new LRUCache({
      max: options.maxEntries ?? CACHE_DEFAULTS.l1.maxEntries,
      ttl: options.ttlMs ?? CACHE_DEFAULTS.l1.ttlMs,
    })
  }

  /** Changes whenever an entry may have become stale; read it before reading the source. */
  get epoch(): number {
    return this.#epoch
  }

  /** A private copy of the value under `key`, or undefined. */
  get(key: string): { value: unknown } | undefined {
    const entry = this.#entries.get(key)
    return entry === undefined ? undefined : { value: clone(entry.value) }
  }

  /** Stores a copy of `value` unless an invalidation happened since `epoch` was read. */
  fill(key: string, value: unknown, epoch: number): void {
    if (epoch === this.#epoch) this.#entries.set(key, { value: clone(value) })
  }

  /** Drops the keys (an invalidation, from this process or another). */
  invalidate(keys: readonly string[]): void {
    this.#epoch++
    for (const key of keys) this.#entries.delete(key)
  }

  /** Drops everything (the subscriber reconnected: messages may have been lost). */
  clear(): void {
    this.#epoch++
    this.#entries.clear()
  }
}
