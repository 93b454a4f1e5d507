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

/**
 * What `data.health()` returns: `ok` when every part is, else `down` (the data layer
 * cannot serve without its database). Later parts (cache, blobs) join `parts`.
 */
export interface HealthReport {
  readonly status: 'ok' | 'down'
  readonly checkedAt: Date
  readonly parts: { readonly database: DatabaseHealth }
}
