import type { CacheStats } from './cache/cache.js'
import type { PoolStats } from './db/connection.js'
import type { ReplicaState } from './db/read-replicas.js'
import type { StratumErrorCode } from './errors.js'
import type { BlobStats } from './storage/blob-store.js'

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
  /**
   * Each replica, probed now, when `replicas` are configured; one down or lagging (past
   * `database.replicaMaxLagMs`) makes the report `degraded`.
   */
  readonly replicas?: readonly ReplicaState[]
}

/** Health of the cache, with its counters. */
export interface CacheHealth extends PartHealth {
  /** `memory` or `redis`. */
  readonly backend: string
  readonly stats: CacheStats
}

/** Health of the blob store (a HEAD on the bucket, or a look at the directory), with its counters. */
export interface BlobHealth extends PartHealth {
  /** `s3`, `fs`, `memory`, or a third-party driver's name. */
  readonly backend: string
  readonly stats: BlobStats
}

/**
 * What `data.health()` returns: `ok` when every part is; `degraded` when the cache, the
 * blob store or a replica is down but the primary database is up (reads then go to the database); `down`
 * when the database is.
 */
export interface HealthReport {
  readonly status: 'ok' | 'degraded' | 'down'
  readonly checkedAt: Date
  readonly parts: {
    readonly database: DatabaseHealth
    readonly cache: CacheHealth
    readonly blobs: BlobHealth
  }
}
