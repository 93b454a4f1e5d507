import type { CacheEvent, CacheStats } from './cache-types.js'

type Counted = Omit<CacheStats, 'pendingInvalidations' | 'circuitOpen'>

/** The cache's counters and the listeners told of every counted outcome. */
export class CacheCounters {
  readonly #counts: Counted = {
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

  /** Counts one outcome and tells the listeners; a listener's failure is swallowed. */
  count(type: CacheEvent['type'], key: string, error?: unknown): void {
    this.#counts[type]++
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

  /** A copy of the counts. */
  snapshot(): Counted {
    return { ...this.#counts }
  }

  /** Adds a listener; returns a function that removes it. */
  subscribe(listener: (event: CacheEvent) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }
}
