import type { Cache } from '../cache/cache.js'
import type { CacheStats } from '../cache/cache-types.js'
import type { DatabaseConnection, PoolStats } from '../db/connection.js'
import { mapDatabaseError } from '../db/map-database-error.js'
import type { ReadReplicas, ReplicaState } from '../db/read-replicas.js'
import type { EmbeddingQueue, EmbeddingQueueStatus } from '../embedding/embedding-queue.js'
import { StratumError, type StratumErrorCode } from '../errors.js'
import type { BlobStats, BlobStore } from '../storage/blob-store.js'
import { withTimeout } from '../util/with-timeout.js'
import type { LayerState } from './layer-state.js'

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

/** Health of embedding on write: the queue as the database has it. */
export interface EmbeddingsHealth extends PartHealth {
  readonly queue?: EmbeddingQueueStatus
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
    /**
     * With `embedOnWrite`: `down` when its queue cannot be read; messages waiting for a
     * retry or set aside after failures make the report `degraded`.
     */
    readonly embeddings?: EmbeddingsHealth
  }
}

/** How long the blob store's health probe may take (S3 retries included). */
const BLOB_HEALTH_TIMEOUT_MS = 3000

/** What `data.health()` checks, and how long each check may take. */
export interface HealthTargets {
  readonly state: LayerState
  readonly connection: DatabaseConnection
  readonly replicas: ReadReplicas | undefined
  readonly cache: Cache
  readonly blobs: BlobStore
  readonly databaseTimeoutMs: number
  readonly cacheTimeoutMs: number
  readonly embeddings: EmbeddingQueue
}

/** Checks every part at once; never throws. */
export async function checkHealth(targets: HealthTargets): Promise<HealthReport> {
  const { state } = targets
  const [database, cache, blobs, embeddings] = await Promise.all([
    checkDatabase(targets.connection, state, targets.databaseTimeoutMs, targets.replicas),
    checkCache(targets.cache, state, targets.cacheTimeoutMs),
    checkBlobs(targets.blobs, state, BLOB_HEALTH_TIMEOUT_MS),
    targets.embeddings.configured
      ? checkEmbeddings(targets.embeddings, state, targets.databaseTimeoutMs)
      : undefined,
  ])
  const status =
    database.status === 'down'
      ? 'down'
      : cache.status === 'down' ||
          blobs.status === 'down' ||
          database.replicas?.some((replica) => replica.status !== 'ok') ||
          (embeddings &&
            (embeddings.status === 'down' ||
              (embeddings.queue?.failed ?? 0) + (embeddings.queue?.retrying ?? 0) > 0))
        ? 'degraded'
        : 'ok'
  return {
    status,
    checkedAt: new Date(),
    parts: { database, cache, blobs, ...(embeddings ? { embeddings } : {}) },
  }
}

/**
 * Runs one part's probe with a timeout and reports status and latency; never throws.
 * `describe` turns a failure into the part's error.
 */
async function probe(
  state: LayerState,
  timeoutMs: number,
  what: string,
  check: () => Promise<unknown>,
  describe: (cause: unknown) => { code: StratumErrorCode; message: string },
): Promise<PartHealth> {
  if (state.closed) {
    return {
      status: 'down',
      latencyMs: 0,
      error: { code: 'CLOSED', message: 'the data layer is closed' },
    }
  }
  const started = performance.now()
  try {
    await withTimeout(check(), timeoutMs, what)
    return { status: 'ok', latencyMs: performance.now() - started }
  } catch (cause) {
    return { status: 'down', latencyMs: performance.now() - started, error: describe(cause) }
  }
}

async function checkDatabase(
  connection: DatabaseConnection,
  state: LayerState,
  timeoutMs: number,
  replicas: ReadReplicas | undefined,
): Promise<DatabaseHealth> {
  const [part, replicaStates] = await Promise.all([
    checkPrimary(connection, state, timeoutMs),
    replicas && !state.closed ? replicas.check(timeoutMs) : undefined,
  ])
  return replicaStates ? { ...part, replicas: replicaStates } : part
}

async function checkPrimary(
  connection: DatabaseConnection,
  state: LayerState,
  timeoutMs: number,
): Promise<DatabaseHealth> {
  const part = await probe(
    state,
    timeoutMs,
    'the database',
    async () => {
      if (state.broken) throw state.broken
      await connection.query('SELECT 1')
    },
    (cause) => {
      const mapped = mapDatabaseError(cause, 'health')
      return { code: mapped.code, message: mapped.message }
    },
  )
  return { ...part, backend: connection.kind, pool: connection.poolStats() }
}

async function checkCache(
  cache: Cache,
  state: LayerState,
  timeoutMs: number,
): Promise<CacheHealth> {
  const part = await probe(
    state,
    timeoutMs,
    'the cache',
    () => cache.ping(),
    (cause) => ({
      code: 'UNAVAILABLE',
      message: `the cache is unreachable (${cause instanceof Error ? cause.message : String(cause)})`,
    }),
  )
  return { ...part, backend: cache.kind, stats: cache.stats() }
}

async function checkBlobs(
  blobs: BlobStore,
  state: LayerState,
  timeoutMs: number,
): Promise<BlobHealth> {
  const part = await probe(
    state,
    timeoutMs,
    'the blob store',
    () => blobs.ping(),
    (cause) => ({
      code: cause instanceof StratumError ? cause.code : 'UNAVAILABLE',
      message: `the blob store is unreachable (${cause instanceof Error ? cause.message : String(cause)})`,
    }),
  )
  return { ...part, backend: blobs.kind, stats: blobs.stats() }
}

async function checkEmbeddings(
  queue: EmbeddingQueue,
  state: LayerState,
  timeoutMs: number,
): Promise<EmbeddingsHealth> {
  let status: EmbeddingQueueStatus | undefined
  const part = await probe(
    state,
    timeoutMs,
    'embedding queue',
    async () => {
      status = await queue.status()
    },
    (cause) => {
      const mapped = mapDatabaseError(cause, 'health')
      return { code: mapped.code, message: mapped.message }
    },
  )
  return status ? { ...part, queue: status } : part
}
