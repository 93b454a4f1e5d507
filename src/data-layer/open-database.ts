import type { ResolvedOptions } from '../config/options.js'
import type { DatabaseConnection } from '../db/connection.js'
import { mapDatabaseError } from '../db/map-database-error.js'
import { openPGlite } from '../db/pglite-connection.js'
import { openPostgres } from '../db/postgres-connection.js'
import type { QueryObserver } from '../db/query-observer.js'
import { ReadReplicas, replicaName } from '../db/read-replicas.js'
import { readVectorTable, type VectorTableLayout } from '../db/vector-table.js'
import { ConfigError, DimensionMismatchError } from '../errors.js'
import type { LayerState } from './layer-state.js'

/** The primary connection: a given pool or PGlite, a server URL, or the embedded PGlite. */
export async function openConnection(
  options: ResolvedOptions,
  observer: QueryObserver,
): Promise<DatabaseConnection> {
  const { database } = options
  const client = database.client
  if (client && 'totalCount' in client) {
    return openPostgres({
      client,
      pool: database.pool,
      tls: database.tls,
      onIdleError: () => {},
      preparedStatements: database.preparedStatements,
    })
  }
  if (options.databaseUrl) {
    return openPostgres({
      url: options.databaseUrl,
      pool: database.pool,
      tls: database.tls,
      // An idle pooled connection that dies is dropped by the pool; the next query
      // reconnects. Without a listener the error would crash the process.
      onIdleError: () => {},
      observer,
      preparedStatements: database.preparedStatements,
    })
  }
  return openPGlite({
    dir: database.dir,
    client: client as never,
    loadDataDir: database.loadDataDir,
    observer,
  })
}

/**
 * A connection of its own to `url` (an admin or direct URL, or a throwaway copy) with the
 * pool settings of the application's connection and at most `max` connections.
 */
export function openSideConnection(
  options: ResolvedOptions,
  url: string,
  max: number,
  observer?: QueryObserver,
): DatabaseConnection {
  return openPostgres({
    url,
    pool: { ...options.database.pool, max, min: 0 },
    tls: options.database.tls,
    onIdleError: () => {},
    ...(observer ? { observer } : {}),
  })
}

/** The replicas' pools and their router, when `replicas` are configured. */
export function openReplicas(
  options: ResolvedOptions,
  primary: DatabaseConnection,
  observer: QueryObserver,
): ReadReplicas | undefined {
  if (options.replicas.length === 0) return undefined
  const { database } = options
  let router: ReadReplicas | undefined
  const replicas = options.replicas.map((url) => {
    const connection: DatabaseConnection = openPostgres({
      url,
      pool: database.pool,
      tls: database.tls,
      // A replica's idle connection that dies (a restart, a failover) takes it out.
      onIdleError: (error) => router?.markDown(connection, error),
      observer,
      preparedStatements: database.preparedStatements,
    })
    return { name: replicaName(url), connection }
  })
  router = new ReadReplicas(primary, replicas, {
    probeIntervalMs: database.replicaProbeMs,
    maxLagMs: database.replicaMaxLagMs,
  })
  return router
}

/**
 * For a layer started with the database down: runs the connect-time check every
 * `intervalMs` until the database answers. A check that then fails for another reason (a
 * dimension that does not match) makes every later call fail with that error.
 */
export async function checkWhenReachable(
  state: LayerState,
  intervalMs: number,
  check: () => Promise<void>,
): Promise<void> {
  while (!state.closed) {
    await new Promise((resolve) => setTimeout(resolve, intervalMs).unref())
    if (state.closed) return
    try {
      await check()
      return
    } catch (error) {
      const mapped = mapDatabaseError(error, 'connect')
      if (mapped.code !== 'UNAVAILABLE') {
        state.broken = mapped
        return
      }
    }
  }
}

/**
 * Checks `chat_vectors` against the configuration (dimension; partitions when configured)
 * and records its partition count for the upserts. Nothing to check before it is migrated.
 */
export async function checkVectorTable(
  connection: DatabaseConnection,
  embeddings: ResolvedOptions['embeddings'],
  layout: VectorTableLayout,
): Promise<void> {
  const actual = await readVectorTable(connection)
  if (actual === undefined) return
  if (actual.dimensions !== embeddings.dimensions)
    throw new DimensionMismatchError(embeddings.dimensions, actual.dimensions)
  if (actual.partitionKey !== null && actual.partitionKey.toLowerCase() !== 'hash (user_id)') {
    throw new ConfigError(
      `chat_vectors is partitioned by ${actual.partitionKey}; stratum-data supports HASH (user_id) only`,
    )
  }
  const configured = embeddings.partitions
  if (configured !== undefined && configured !== actual.partitions) {
    const has = actual.partitions === 0 ? 'one table' : `${actual.partitions} hash partitions`
    throw new ConfigError(
      `chat_vectors is ${has} in the database but embeddings.partitions is ${configured}; ` +
        'unset the option to use the table as it is, convert a one-table layout with ' +
        'data.vectors.partition() (stratum partition N), or migrate a new database',
      { details: { configured, actual: actual.partitions } },
    )
  }
  layout.set(actual)
}
