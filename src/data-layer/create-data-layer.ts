import { AttachmentStore } from '../attachments/attachment-store.js'
import { createRateLimiter } from '../cache/rate-limiter.js'
import { SessionStore } from '../cache/session-store.js'
import { CACHE_TEST_HOOKS, type CacheTestHooks } from '../cache/test-hooks.js'
import { optionsFromEnv } from '../config/env-variables.js'
import { type DataLayerOptions, resolveOptions } from '../config/options.js'
import { ChatContext } from '../context/chat-context.js'
import { adminConnection } from '../db/admin-connection.js'
import type { DatabaseConnection } from '../db/connection.js'
import { mapDatabaseError, mapIfDatabaseError } from '../db/map-database-error.js'
import { QueryObserver } from '../db/query-observer.js'
import { runInTransactionContext } from '../db/transaction-context.js'
import { VectorTableLayout } from '../db/vector-table.js'
import { EmbeddingQueue } from '../embedding/embedding-queue.js'
import { ValidationError } from '../errors.js'
import type { DataLayerExtension, ExtensionApis } from '../extensions/extension.js'
import { ChatLive } from '../live/chat-live.js'
import { MemoryStore } from '../memory/memory-store.js'
import { validate } from '../repositories/validate.js'
import type { BlobStore } from '../storage/blob-store.js'
import { TokenCounting } from '../tokens/token-counter.js'
import { refuseAfterClose } from '../util/refuse-after-close.js'
import { entityCaching } from './entity-cache-policy.js'
import { checkHealth } from './health.js'
import { assertOpen, type LayerState } from './layer-state.js'
import { migrationSetsOf } from './migration-sets.js'
import { openBlobs } from './open-blobs.js'
import { openCache } from './open-cache.js'
import {
  checkVectorTable,
  checkWhenReachable,
  openConnection,
  openReplicas,
  openSideConnection,
} from './open-database.js'
import { layerOperations } from './operations.js'
import { createScopes } from './scopes.js'
import { transactionOptionsSchema } from './transaction-options.js'
import type { DataLayer } from './types.js'

/**
 * Creates the data layer. With no options it runs in-process on PGlite with pgvector (in
 * memory) and an in-process LRU cache; with `databaseUrl` it uses a `pg` pool, and with
 * `redisUrl` a Redis cache. Options are validated first (a bad one throws `CONFIG`), then
 * the database is reached (`UNAVAILABLE` if it cannot be) and its embedding dimension
 * checked (`DIMENSION_MISMATCH`). Redis being unreachable is not an error: the cache
 * reports it in `health()` and reads go to the database.
 *
 * @example
 * ```ts
 * import { createDataLayer } from 'stratum-data'
 *
 * const data = await createDataLayer()               // embedded
 * // const data = await createDataLayer({ databaseUrl: process.env.DATABASE_URL })
 * await data.migrate()
 * const user = await data.users.create({ email: 'ada@example.com', firstName: 'Ada' })
 * await data.close()
 * ```
 */
async function createDataLayerImpl(
  options: DataLayerOptions = {},
): Promise<DataLayer<Record<string, unknown>>> {
  const resolved = resolveOptions(options)
  // Read before connecting: a missing folder is a CONFIG error with nothing to clean up.
  const migrationSets = migrationSetsOf(resolved)
  const observer = new QueryObserver({
    slowQueryMs: resolved.database.slowQueryMs,
    logger: resolved.logger,
  })
  let connection: DatabaseConnection
  try {
    connection = await openConnection(resolved, observer)
  } catch (error) {
    throw mapDatabaseError(error, 'connect')
  }
  const vectorTable = new VectorTableLayout(connection)
  let reachedDatabase = true
  try {
    await checkVectorTable(connection, resolved.embeddings, vectorTable)
  } catch (error) {
    const mapped = mapDatabaseError(error, 'connect')
    if (!(resolved.database.startWhenDown && mapped.code === 'UNAVAILABLE')) {
      await connection.close().catch(() => {})
      throw mapped
    }
    reachedDatabase = false
  }

  // A part that cannot open (a missing optional package, a bad S3 setting) closes the
  // parts opened before it: nothing is left connected.
  const hooks = (options as { [CACHE_TEST_HOOKS]?: CacheTestHooks })[CACHE_TEST_HOOKS]
  let opened: ReturnType<typeof openCache> | undefined
  let blobs: BlobStore | undefined
  let replicas: ReturnType<typeof openReplicas>
  try {
    opened = openCache(resolved, hooks)
    blobs = await openBlobs(resolved)
    replicas = openReplicas(resolved, connection, observer)
  } catch (error) {
    const parts = [connection.close(), opened?.cache.close(), blobs?.close()]
    await Promise.all(parts.map((p) => p?.catch(() => {})))
    throw error
  }
  const { cache, driver: cacheDriver } = opened
  // A direct URL (behind a pooler) serves exactly as an admin URL does: a session of its own.
  const adminUrl = resolved.adminUrl ?? resolved.directUrl
  const admin = adminConnection(
    connection,
    resolved.databaseUrl,
    adminUrl
      ? {
          url: adminUrl,
          open: async () => openSideConnection(resolved, adminUrl, 2, observer),
        }
      : undefined,
  )
  const rateLimit = createRateLimiter(cacheDriver, resolved.cache.prefix)
  const sessions = new SessionStore(cacheDriver, resolved.cache.prefix)
  const state: LayerState = { closed: false }
  if (!reachedDatabase)
    void checkWhenReachable(state, resolved.database.replicaProbeMs, () =>
      checkVectorTable(connection, resolved.embeddings, vectorTable),
    )

  const attachments = new AttachmentStore({
    db: connection.db,
    transaction: (fn) =>
      connection.transaction((tx) => runInTransactionContext(connection, () => fn(tx))),
    blobs,
    options: resolved.attachments,
    logger: resolved.logger,
    assertUsable: (operation) => guard(operation),
  })
  const live = new ChatLive({
    coordination: cache.coordination,
    logger: resolved.logger,
    assertUsable: (operation) => guard(operation),
  })
  const scopes = createScopes({
    options: resolved,
    state,
    connection,
    admin,
    replicas,
    cache,
    sessions,
    blobs,
    vectorTable,
    caching: entityCaching(resolved, cache.kind, connection.kind),
    fileUrls: (ids) => attachments.urls(ids),
    tokens: new TokenCounting(resolved.tokens),
    publish: (events) => live.publish(events),
  })
  const guard = (operation: string) => scopes.root.context.assertUsable(operation)
  let closing: Promise<void> | undefined
  const { logger } = resolved
  const embeddings = new EmbeddingQueue(
    scopes.root.context,
    resolved.embedOnWrite,
    logger
      ? (fields, message) => logger.warn(fields as Record<string, unknown>, message)
      : undefined,
  )
  if (reachedDatabase) {
    try {
      await embeddings.switchOn()
    } catch (error) {
      const parts = [
        connection.close(),
        replicas?.close(),
        admin.close(),
        cache.close(),
        blobs.close(),
      ]
      await Promise.all(parts.map((p) => p?.catch(() => {})))
      throw mapDatabaseError(error, 'connect')
    }
  }
  embeddings.start()
  const memory = new MemoryStore(scopes.root.context, resolved.embedOnWrite?.embed)

  return {
    ...scopes.root.repositories,
    ...layerOperations({
      options: resolved,
      connection,
      admin,
      migrationSets,
      vectorTable,
      observer,
      replicas,
      cache,
      blobs,
      guard,
      embeddings,
    }),
    ext: scopes.ext,
    backend: connection.kind,
    db: connection.db,
    embeddingDimensions: resolved.embeddings.dimensions,
    cache: refuseAfterClose(cache, 'data.cache', () => state.closed),
    sessions: refuseAfterClose(sessions, 'data.sessions', () => state.closed),
    blobs: refuseAfterClose(blobs, 'data.blobs', () => state.closed),
    attachments,
    live,
    embeddings,
    memory,
    context: new ChatContext({
      context: scopes.root.context,
      hybridSearch: (options) => scopes.root.repositories.vectors.hybridSearch(options),
      searchMemories: (options) => memory.search(options),
    }),
    rateLimit: (key, limit) => {
      assertOpen(state, 'data.rateLimit')
      return rateLimit(key, limit)
    },
    async transaction(fn, config) {
      guard('data.transaction')
      if (typeof fn !== 'function')
        throw new ValidationError('data.transaction', [
          { path: 'fn', message: 'must be a function (tx) => Promise' },
        ])
      // The validated copy, and none when it sets nothing: Drizzle would send `BEGIN ` with
      // an empty setting list for `{}` (a syntax error on a server).
      const settings =
        config === undefined
          ? undefined
          : validate(transactionOptionsSchema, config, 'data.transaction')
      const given = settings && Object.keys(settings).length > 0 ? settings : undefined
      try {
        return await scopes.transaction(fn, given)
      } catch (error) {
        throw mapIfDatabaseError(error, 'transaction')
      }
    },
    readYourWrites(fn) {
      return replicas ? replicas.readYourWrites(fn) : fn()
    },
    health() {
      return checkHealth({
        state,
        connection,
        replicas,
        cache,
        blobs,
        databaseTimeoutMs: resolved.database.pool.connectionTimeoutMs,
        cacheTimeoutMs: resolved.cache.redis.commandTimeoutMs * 4,
        embeddings,
      })
    },
    close() {
      state.closed = true
      closing ??= embeddings
        .stop()
        .then(() =>
          Promise.all([
            connection.close(),
            replicas?.close(),
            admin.close(),
            cache.close(),
            blobs.close(),
          ]),
        )
        .then(() => {})
      return closing
    },
  }
}

/** `createDataLayer` and its `fromEnv` variant. */
export interface CreateDataLayer {
  <const E extends readonly DataLayerExtension[] = []>(
    options?: DataLayerOptions & { extensions?: E },
  ): Promise<DataLayer<ExtensionApis<E>>>
  /**
   * Reads options from environment variables (`DATABASE_URL`, `STRATUM_DATA_DIR`,
   * `DATABASE_POOL_MAX`, ...; see the README); `overrides` win over the environment.
   */
  fromEnv<const E extends readonly DataLayerExtension[] = []>(
    env?: Record<string, string | undefined>,
    overrides?: DataLayerOptions & { extensions?: E },
  ): Promise<DataLayer<ExtensionApis<E>>>
}

/**
 * Creates the data layer; see {@link DataLayer}. `createDataLayer.fromEnv()` reads the
 * options from environment variables.
 *
 * @example
 * ```ts
 * const data = await createDataLayer.fromEnv()   // DATABASE_URL set: Postgres; unset: PGlite
 * ```
 */
// The implementation builds `ext` from the list at run time; its static type comes from
// the list's type, which only the generic signature sees.
export const createDataLayer = Object.assign(createDataLayerImpl, {
  fromEnv: (
    env: Record<string, string | undefined> = process.env,
    overrides: DataLayerOptions = {},
  ) => createDataLayerImpl(optionsFromEnv(env, overrides)),
}) as unknown as CreateDataLayer
