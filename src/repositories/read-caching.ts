import type { Cache } from '../cache/cache.js'
import type { ReadThroughOptions } from '../cache/cache-types.js'
import type { ValueCodec } from '../cache/value-codec.js'
import type { RepositoryContext } from './repository-context.js'

/** How one read operation of a repository goes through the cache. */
interface CachePlan {
  readonly cache: Cache
  readonly codec: ValueCodec | undefined
  /** The table's policy for the operation, with the codec. */
  readonly policy: ReadThroughOptions
  /** `table.operation`, for errors. */
  readonly label: string
}

/**
 * How one repository's reads go through the cache: the plan of each operation (its policy
 * and codec, worked out once), and the checks every cached read makes first.
 */
export class ReadCaching {
  readonly #context: RepositoryContext
  readonly #table: string

  constructor(context: RepositoryContext, table: string) {
    this.#context = context
    this.#table = table
  }

  /**
   * Reads through the cache when this table is cached and no transaction is open;
   * otherwise reads the database. Cache fills always read the primary.
   */
  readThrough<R>(
    operation: string,
    key: string,
    read: () => Promise<R>,
    codec?: ValueCodec,
  ): Promise<R> {
    const plan = this.#cachePlan(operation, codec)
    if (!plan) return read()
    return this.#viaCache(plan, read, (cache, policy, load) => cache.readThrough(key, load, policy))
  }

  /**
   * Reads one member of a cached group (a list page) through the cache when this table is
   * cached and no transaction is open; otherwise reads the database.
   */
  readGroup<R>(
    operation: string,
    group: string,
    member: string,
    read: () => Promise<R>,
    codec?: ValueCodec,
  ): Promise<R> {
    const plan = this.#cachePlan(operation, codec)
    if (!plan) return read()
    return this.#viaCache(plan, read, (cache, policy, load) =>
      cache.readThroughGroup(group, member, load, policy),
    )
  }

  /** Cache plans by operation: policies are fixed for a context's life, so work them out once. */
  readonly #cachePlans = new Map<string, CachePlan | null>()

  /** How `operation` reads through the cache (with `codec`), or null when it does not. */
  #cachePlan(operation: string, codec: ValueCodec | undefined): CachePlan | null {
    const known = this.#cachePlans.get(operation)
    if (known !== undefined && (known === null || known.codec === codec)) return known
    const cache = this.#context.cache
    const policy = cache && this.#context.cachePolicy(this.#table, operation)
    const plan =
      cache && policy
        ? {
            cache,
            codec,
            policy: codec ? { ...policy, codec } : policy,
            label: `${this.#table}.${operation}`,
          }
        : null
    this.#cachePlans.set(operation, plan)
    return plan
  }

  #viaCache<R>(
    plan: CachePlan,
    read: () => Promise<R>,
    cached: (cache: Cache, policy: ReadThroughOptions, load: () => Promise<R>) => Promise<R>,
  ): Promise<R> {
    try {
      // Checked here too: a cache hit must not hide use after close or outer use in a transaction.
      this.#context.assertUsable(plan.label)
    } catch (error) {
      return Promise.reject(error)
    }
    // A fill from a lagging replica would cache a row older than a committed write, which
    // no later invalidation removes: fills read the primary.
    const reads = this.#context.reads
    return cached(plan.cache, plan.policy, reads ? () => reads.onPrimary(read) : read)
  }
}
