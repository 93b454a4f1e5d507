import type { CacheStats } from './cache/cache.js'
import type { PoolStats } from './db/connection.js'
import type { StratumErrorCode } from './errors.js'

/** Status of one part of the data layer. */
export type PartStatus = 'ok' | 'down'

/** Health of one part, with how long its check took. */
export interface PartHealth {
  readonly status: PartStatus
  readonly latencyMs: number
  /** Why the part is down. */
  readonly error?: { readonly code: StratumErrorCode; readonly message: string }
}

/** Health of the database, with pool figures. */
export interface DatabaseHealth extends PartHealth {
  readonly backend: 'pglite' | 'postgres'
  readonly pool: PoolStats
}

/** Health of the cache, with its counters. */
export interface CacheHealth extends PartHealth {
  /** `memory` or `redis`. */
  readonly backend: string
  readonly stats: CacheStats
}

/**
 * What `data.health()` returns: `ok` when every part is; `degraded` when only the cache
 * is down (reads then go to the database); `down` when the database is. Blobs join
 * `parts` with their issue.
 */
export interface HealthReport {
  readonly status: 'ok' | 'degraded' | 'down'
  readonly checkedAt: Date
  readonly parts: { readonly database: DatabaseHealth; readonly cache: CacheHealth }
}
