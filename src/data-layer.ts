import { join, resolve } from 'node:path'
import { getTableName } from 'drizzle-orm'
import type { PgTable } from 'drizzle-orm/pg-core'
import type { Redis } from 'ioredis'
import { z } from 'zod'
import { Cache, type CacheStats, type ReadThroughOptions } from './cache/cache.js'
import type { CacheDriver } from './cache/cache-driver.js'
import { memoryDriver } from './cache/memory-driver.js'
import { createRateLimiter, type RateLimiter } from './cache/rate-limiter.js'
import { redisDriver } from './cache/redis-driver.js'
import { SessionStore } from './cache/session-store.js'
import {
  type DataLayerOptions,
  optionsFromEnv,
  type ResolvedOptions,
  resolveOptions,
} from './config.js'
import { type AdminConnection, adminConnection } from './db/admin-connection.js'
import type {
  DatabaseConnection,
  PoolStats,
  StratumDatabase,
  StratumTransaction,
} from './db/connection.js'
import { mapDatabaseError, mapIfDatabaseError } from './db/map-database-error.js'
import { migrationSetsOf } from './db/migration-sets.js'
import {
  applyMigrations,
  type MigrateResult,
  type MigrationStatus,
  migrationTables,
  readMigrationStatus,
} from './db/migrator.js'
import { openPGlite } from './db/pglite-connection.js'
import { openPostgres } from './db/postgres-connection.js'
import { type QueryMetrics, QueryObserver } from './db/query-observer.js'
import { ReadReplicas, type ReplicaStats, replicaName } from './db/read-replicas.js'
import { assertOutsideTransaction, runInTransactionContext } from './db/transaction-context.js'
import { readVectorTable, VectorTableLayout } from './db/vector-table.js'
import {
  ConfigError,
  DimensionMismatchError,
  StratumError,
  type StratumErrorCode,
  ValidationError,
} from './errors.js'
import type { DataLayerExtension, ExtensionApis, ExtensionScope } from './extensions/extension.js'
import type { BlobHealth, CacheHealth, DatabaseHealth, HealthReport, PartHealth } from './health.js'
import { type BackupInfo, createBackup, listBackups, type TransferProgress } from './ops/backup.js'
import { type DoctorReport, runDoctor } from './ops/doctor.js'
import { eraseUser } from './ops/erase-user.js'
import { type RestoreOptions, type RestoreResult, restoreBackup } from './ops/restore.js'
import { applyRoles, type RolesOptions, type RolesPlan } from './ops/roles.js'
import { type MigrateStep, verifiedMigrate } from './ops/verified-migrate.js'
import { CascadeGraph } from './repositories/cascade-graph.js'
import { ChatsRepository } from './repositories/chats-repository.js'
import { MessagesRepository } from './repositories/messages-repository.js'
import { Repository } from './repositories/repository.js'
import type { RepositoryContext } from './repositories/repository-context.js'
import {
  defineTable,
  type TableDefinition,
  type TableSchemas,
} from './repositories/table-definition.js'
import { UsersRepository } from './repositories/users-repository.js'
import { validate } from './repositories/validate.js'
import { chatMessages, messageInsertSchema, messageUpdateSchema } from './schema/chat-messages.js'
import { chatVectors } from './schema/chat-vectors.js'
import { chatInsertSchema, chats, chatUpdateSchema } from './schema/chats.js'
import { userInsertSchema, users, userUpdateSchema } from './schema/users.js'
import type { BlobDriver } from './storage/blob-driver.js'
import { type BlobStats, BlobStore } from './storage/blob-store.js'
import { fsBlobDriver } from './storage/fs-driver.js'
import { appendAll } from './util/append-all.js'
import { refuseAfterClose } from './util/refuse-after-close.js'
import { withTimeout } from './util/with-timeout.js'
import { VectorStore } from './vector/vector-store.js'

/** What `data.metrics()` returns. */
export interface DataLayerMetrics {
  readonly database: {
    readonly backend: 'pglite' | 'postgres'
    readonly pool: PoolStats
    readonly queries: QueryMetrics
    /** Where reads went, when `replicas` are configured. */
    readonly replicas?: ReplicaStats
  }
  readonly cache: CacheStats & { readonly backend: string }
  readonly blobs: BlobStats & { readonly backend: string }
}

/** Isolation and access mode of a transaction. */
export interface TransactionOptions {
  isolationLevel?: 'read uncommitted' | 'read committed' | 'repeatable read' | 'serializable'
  accessMode?: 'read only' | 'read write'
}

const transactionOptionsSchema = z
  .object({
    isolationLevel: z
      .enum(['read uncommitted', 'read committed', 'repeatable read', 'serializable'])
      .optional(),
    accessMode: z.enum(['read only', 'read write']).optional(),
  })
  .strict()

/** The repositories, the same on the data layer and inside a transaction. */
export interface Repositories {
  readonly users: UsersRepository
  readonly chats: ChatsRepository
  readonly messages: MessagesRepository
  readonly vectors: VectorStore
  /**
   * A repository over any other Drizzle table with a single-column primary key, with the
   * same validation (drizzle-zod schemas unless you pass your own) and error mapping.
   */
  repository<T extends PgTable>(table: T, schemas?: TableSchemas): Repository<T>
}

/** No extensions: the type of `data.ext` when none are given. */
export type NoExtensions = Readonly<Record<never, never>>

/** The handle passed to a `data.transaction()` callback: repositories bound to it. */
export interface TransactionScope<Ext extends object = NoExtensions> extends Repositories {
  /** The Drizzle transaction, for queries the repositories do not cover. */
  readonly db: StratumTransaction
  /** The extensions' accessors, bound to this transaction. */
  readonly ext: Ext
  /** Runs `fn` in a savepoint: its failure rolls back only its own work. */
  transaction<T>(fn: (tx: TransactionScope<Ext>) => Promise<T>): Promise<T>
}

/**
 * Everything an application's data needs, from one `createDataLayer()` call. `Ext` is the
 * type of `data.ext`: the accessors of the extensions passed in `extensions`.
 */
export interface DataLayer<Ext extends object = NoExtensions> extends Repositories {
  /** Which Postgres runs underneath: embedded PGlite or a server. */
  readonly backend: 'pglite' | 'postgres'
  /** The typed Drizzle database (the same type on both backends). */
  readonly db: StratumDatabase
  /** The configured embedding dimension. */
  readonly embeddingDimensions: number
  /**
   * The cache: Redis when `redisUrl` (or `cache.redis.client`) is given, else an
   * in-process LRU; the repositories read through it (`cache.entities`).
   */
  readonly cache: Cache
  /**
   * Decides one request against a rate limit (GCRA, atomic in Redis, shared by every
   * process; per process if Redis fails).
   *
   * @example
   * ```ts
   * const { allowed, retryAfterMs } = await data.rateLimit(`login:${ip}`, { limit: 5, periodMs: 60_000 })
   * ```
   */
  readonly rateLimit: RateLimiter
  /** Sessions with random 256-bit ids and sliding expiry, kept in the cache. */
  readonly sessions: SessionStore
  /**
   * The blob store: S3 (or an S3-compatible service) when `s3` is given, else the local
   * filesystem under `blobs.dir` (default `./.stratum/blobs`), or `blobs.driver`.
   *
   * @example
   * ```ts
   * await data.blobs.put(`avatars/${user.id}.png`, bytes, { contentType: 'image/png' })
   * ```
   */
  readonly blobs: BlobStore
  /**
   * The accessors of the `extensions` (each under its name), typed from the list given
   * to `createDataLayer`.
   *
   * @example
   * ```ts
   * const data = await createDataLayer({ extensions: [notes()] })
   * await data.ext.notes.create({ userId, body: 'hi' })
   * ```
   */
  readonly ext: Ext
  /**
   * Runs `fn` in one transaction and returns its result; if `fn` throws, everything it
   * did is rolled back. Inside, use only the `tx` handle: the outer data layer throws
   * `TRANSACTION_MISUSE` there instead of deadlocking.
   */
  transaction<T>(
    fn: (tx: TransactionScope<Ext>) => Promise<T>,
    options?: TransactionOptions,
  ): Promise<T>
  /**
   * Runs `fn` so that, once it has written anything (a repository write, a transaction),
   * its later reads go to the primary instead of a replica: a request handler that saves
   * and then reads sees what it saved. Reads before the first write, and every other
   * caller's reads, still go to the replicas. Without `replicas` it just runs `fn`.
   *
   * @example
   * ```ts
   * app.use((req, res, next) => data.readYourWrites(async () => next()))
   * ```
   */
  readYourWrites<T>(fn: () => Promise<T>): Promise<T>
  /**
   * Applies pending migrations (core, then `migrations.sets`); safe to call from several
   * processes at once. With `verify: true`: a backup first, then the migrations on a
   * throwaway copy, and only if they succeed there on the real database; `steps` reports
   * each step.
   */
  migrate(options?: {
    verify?: boolean
    onStep?: (step: MigrateStep) => void
  }): Promise<MigrateResult & { readonly steps?: readonly MigrateStep[] }>
  /** Lists applied and pending migrations. */
  migrationStatus(): Promise<MigrationStatus>
  /**
   * Backs the database up into the blob store (under `backups.prefix`): `pg_dump` in its
   * custom format from one consistent snapshot on a server, the data directory on PGlite;
   * then a manifest (size, SHA-256, row counts, server version, migration head); then
   * retention (`backups.keep`, `backups.maxAgeDays`).
   *
   * @example
   * ```ts
   * const { key, sizeBytes, removed } = await data.backup()
   * ```
   */
  backup(options?: {
    onProgress?: (progress: TransferProgress) => void
  }): Promise<BackupInfo & { readonly removed: readonly string[] }>
  /** The finished backups in the blob store, newest first. */
  backups(): Promise<BackupInfo[]>
  /**
   * Restores a backup into a new or empty database (`into`: a URL, created if missing) or,
   * for a PGlite backup, a new directory. The SHA-256 is checked before the restore can
   * commit (one transaction), and row counts after; a mismatch is `INTEGRITY`.
   */
  restore(key: string, options?: RestoreOptions): Promise<RestoreResult>
  /**
   * Creates or updates (idempotently, from the admin connection) an application role
   * with only DML rights on the library's tables and sequences and a read-only role;
   * with `apply: false` it only returns the statements (passwords masked). Server only.
   *
   * @example
   * ```ts
   * await data.roles({ apply: true, app: { name: 'myapp', password: process.env.APP_DB_PASSWORD } })
   * // then: createDataLayer({ databaseUrl: appRoleUrl, adminUrl: ownerUrl })
   * ```
   */
  roles(options?: RolesOptions & { apply?: boolean }): Promise<RolesPlan>
  /**
   * A maintenance report: unused indexes, table and index sizes with a bloat estimate,
   * tables needing VACUUM or ANALYZE, connection states, the buffer cache hit ratio,
   * vector index parameters against row counts, extension versions.
   */
  doctor(): Promise<DoctorReport>
  /**
   * Counters in a shape that maps onto OpenTelemetry or Prometheus (without depending on
   * either): pool totals, query counts, errors, slow queries and a latency histogram,
   * the cache's and the blob store's counters.
   *
   * @example
   * ```ts
   * const { database } = data.metrics()
   * gauge.set(database.pool.waiting); histogram buckets: database.queries.durationMs.buckets
   * ```
   */
  metrics(): DataLayerMetrics
  /** Checks every part and reports status, latency and pool figures; never throws. */
  health(): Promise<HealthReport>
  /**
   * Closes every connection; calling it again does nothing. Every later call on the layer
   * (repositories, `cache`, `blobs`, `sessions`, `rateLimit`, operations) fails with
   * `CLOSED`; `health()` reports `down` and `metrics()` the last counters.
   */
  close(): Promise<void>
}

/** How long the blob store's health probe may take (S3 retries included). */
const BLOB_HEALTH_TIMEOUT_MS = 3000

interface LayerState {
  closed: boolean
  /** Set when a layer that started with the database down found it misconfigured later. */
  broken?: StratumError | undefined
}

const CORE_DEFINITIONS = {
  users: defineTable(users, { insert: userInsertSchema, update: userUpdateSchema }),
  chats: defineTable(chats, { insert: chatInsertSchema, update: chatUpdateSchema }),
  messages: defineTable(chatMessages, { insert: messageInsertSchema, update: messageUpdateSchema }),
}

function assertOpen(state: LayerState, operation: string): void {
  if (state.closed) throw new StratumError('CLOSED', `${operation} was called after data.close()`)
  if (state.broken) throw state.broken
}

function buildRepositories(
  context: RepositoryContext,
  connection?: DatabaseConnection,
  ddl?: AdminConnection,
): Repositories {
  const definitions = new WeakMap<PgTable, TableDefinition>()
  const repositories = new WeakMap<PgTable, Repository<PgTable>>()
  return {
    users: new UsersRepository(context, CORE_DEFINITIONS.users),
    chats: new ChatsRepository(context, CORE_DEFINITIONS.chats),
    messages: new MessagesRepository(context, CORE_DEFINITIONS.messages),
    vectors: new VectorStore(context, connection, ddl),
    repository<T extends PgTable>(table: T, schemas?: TableSchemas): Repository<T> {
      if (!schemas) {
        const cached = repositories.get(table)
        if (cached) return cached as unknown as Repository<T>
      }
      let definition = definitions.get(table)
      if (!definition || schemas) {
        definition = defineTable(table, schemas)
        if (!schemas) definitions.set(table, definition)
      }
      const repository = new Repository(context, definition as TableDefinition<T>)
      if (!schemas) repositories.set(table, repository as unknown as Repository<PgTable>)
      return repository
    },
  }
}

/** `ext` without extensions, shared: every transaction builds a scope. */
const NO_EXTENSIONS: Record<string, unknown> = Object.freeze({})

/**
 * The `ext` object of one scope: each extension's accessor under its name, built on first
 * use (a transaction that never touches an extension does not build it).
 */
function buildExtensions(
  extensions: readonly DataLayerExtension[],
  scope: ExtensionScope,
): Record<string, unknown> {
  const ext: Record<string, unknown> = {}
  for (const extension of extensions) {
    let built: { value: unknown } | undefined
    Object.defineProperty(ext, extension.name, {
      enumerable: true,
      get() {
        built ??= { value: extension.api(scope) }
        return built.value
      },
    })
  }
  return Object.freeze(ext)
}

async function openConnection(
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

function openCache(options: ResolvedOptions): { cache: Cache; driver: CacheDriver } {
  const { cache } = options
  const driver =
    options.redisUrl || cache.redis.client || cache.redis.clusterNodes || cache.redis.sentinel
      ? redisDriver({
          ...(options.redisUrl ? { url: options.redisUrl } : {}),
          ...(cache.redis.clusterNodes ? { clusterNodes: cache.redis.clusterNodes } : {}),
          ...(cache.redis.sentinel ? { sentinel: cache.redis.sentinel } : {}),
          ...(cache.redis.client ? { client: cache.redis.client as Redis } : {}),
          commandTimeoutMs: cache.redis.commandTimeoutMs,
          connectTimeoutMs: cache.redis.connectTimeoutMs,
          tls: cache.redis.tls,
        })
      : memoryDriver(cache.memory)
  const front = new Cache(driver, {
    prefix: cache.prefix,
    defaultTtlMs: cache.defaultTtlMs,
    maxValueBytes: cache.maxValueBytes,
    ttlJitter: cache.ttlJitter,
    leaseTtlMs: cache.leaseTtlMs,
    l1: cache.l1,
    circuitBreaker: cache.circuitBreaker,
    ...(cache.testing ? { testing: cache.testing } : {}),
  })
  return { cache: front, driver }
}

async function openBlobs(options: ResolvedOptions): Promise<BlobStore> {
  const { s3, blobs } = options
  let driver: BlobDriver
  if (blobs.driver) driver = blobs.driver as BlobDriver
  else if (s3) {
    // Loaded only when configured: the AWS SDK takes a while to load.
    const { s3BlobDriver } = await import('./storage/s3-driver.js')
    driver = s3BlobDriver({
      bucket: s3.bucket,
      ...(s3.client ? { client: s3.client as never } : {}),
      ...(s3.region ? { region: s3.region } : s3.endpoint ? { region: 'us-east-1' } : {}),
      ...(s3.endpoint ? { endpoint: s3.endpoint } : {}),
      ...(s3.forcePathStyle === undefined ? {} : { forcePathStyle: s3.forcePathStyle }),
      ...(s3.credentials ? { credentials: s3.credentials } : {}),
      ...(s3.checksums ? { checksums: s3.checksums } : {}),
      ...(s3.maxAttempts ? { maxAttempts: s3.maxAttempts } : {}),
    })
  } else {
    driver = fsBlobDriver({
      dir: resolve(blobs.dir ?? join('.stratum', 'blobs')),
      fsync: blobs.fsync,
    })
  }
  return new BlobStore(driver, {
    prefix: blobs.prefix,
    partSizeBytes: blobs.partSizeBytes,
    queueSize: blobs.queueSize,
  })
}

/** The replicas' pools and their router, when `replicas` are configured. */
function openReplicas(
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

/**
 * For a layer started with the database down: runs the connect-time check every
 * `intervalMs` until the database answers. A check that then fails for another reason (a
 * dimension that does not match) makes every later call fail with that error.
 */
async function checkWhenReachable(
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
async function checkVectorTable(
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
  const dimensions = resolved.embeddings.dimensions
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

  let blobs: BlobStore
  try {
    blobs = await openBlobs(resolved)
  } catch (error) {
    await connection.close().catch(() => {})
    throw error
  }
  const readReplicas = openReplicas(resolved, connection, observer)
  const { cache, driver: cacheDriver } = openCache(resolved)
  // A direct URL (behind a pooler) serves exactly as an admin URL does: a session of its own.
  const adminUrl = resolved.adminUrl ?? resolved.directUrl
  const admin = adminConnection(
    connection,
    resolved.databaseUrl,
    adminUrl
      ? {
          url: adminUrl,
          open: async () =>
            openPostgres({
              url: adminUrl,
              pool: { ...resolved.database.pool, max: 2, min: 0 },
              tls: resolved.database.tls,
              onIdleError: () => {},
              observer,
            }),
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
  const entities = resolved.cache.entities
  // 'auto': cache rows when every process sees the same cache: with Redis, or with PGlite
  // (one process per database). A server with per-process memory caches would let one
  // process serve rows another has changed, so rows are not cached there unless asked.
  const entitiesEnabled =
    entities.enabled === 'auto'
      ? cache.kind !== 'memory' || connection.kind === 'pglite'
      : entities.enabled
  const coreTables = new Set(['users', 'chats', 'chat_messages'])
  // Extensions say how their tables are cached; the application's own settings win.
  const tableSettings: typeof entities.tables = Object.assign(
    {},
    ...resolved.extensions.map((extension) => extension.cache ?? {}),
    entities.tables,
  )
  const policies = new Map<string, ReadThroughOptions | undefined>()
  const cachePolicy = (table: string, operation: string): ReadThroughOptions | undefined => {
    const name = `${table}.${operation}`
    if (policies.has(name)) return policies.get(name)
    const override = tableSettings[table]
    // Core tables are cached unless turned off; other tables only when listed, since
    // the library cannot know which cascades reach them.
    const cached =
      entitiesEnabled &&
      override !== false &&
      (override !== undefined || coreTables.has(table)) &&
      (!override?.methods || override.methods.includes(operation))
    const policy = cached
      ? {
          ttlMs: override?.ttlMs ?? entities.ttlMs,
          negativeTtlMs: override?.negativeTtlMs ?? entities.negativeTtlMs,
        }
      : undefined
    policies.set(name, policy)
    return policy
  }

  const extensionTables = resolved.extensions.flatMap((extension) => extension.tables ?? [])
  const cascades = new CascadeGraph(
    [users, chats, chatMessages, chatVectors, ...extensionTables],
    new Set(
      extensionTables
        .map((table) => getTableName(table))
        .filter((name) => !coreTables.has(name) && cachePolicy(name, 'findById') !== undefined),
    ),
  )

  const transactionContext = (tx: StratumTransaction, stale: string[]): RepositoryContext => ({
    executor: tx,
    inTransaction: true,
    prepared: undefined,
    cache: undefined,
    cachePolicy,
    cascades,
    // Collected now, invalidated after COMMIT; a rollback drops them unseen.
    afterCommit: async (keys) => {
      appendAll(stale, keys)
    },
    dimensions,
    vectorTable,
    fullTextLanguage: resolved.embeddings.fullTextLanguage,
    assertUsable: (operation) => assertOpen(state, operation),
    transaction: (fn) =>
      tx.transaction((inner) => fn(transactionContext(inner as StratumTransaction, stale))),
  })

  const runTransaction = async <T>(
    fn: (context: RepositoryContext) => Promise<T>,
    config?: TransactionOptions,
  ): Promise<T> => {
    readReplicas?.noteWrite()
    const stale: string[] = []
    const result = await connection.transaction(
      (tx) => runInTransactionContext(connection, () => fn(transactionContext(tx, stale))),
      config,
    )
    await cache.invalidate([...new Set(stale)])
    return result
  }

  const eraseUserEverywhere = (userId: string) =>
    eraseUser(
      {
        db: connection.db,
        cache,
        sessions,
        blobs,
        blobPrefixes: resolved.erasure.blobPrefixes,
        cascades,
        transaction: (fn) =>
          connection.transaction((tx) => runInTransactionContext(connection, () => fn(tx))),
      },
      userId,
    )

  const rootContext: RepositoryContext = {
    executor: connection.db,
    inTransaction: false,
    prepared: connection,
    reads: readReplicas,
    cache,
    cachePolicy,
    cascades,
    afterCommit: (keys) => cache.invalidate(keys),
    dimensions,
    vectorTable,
    fullTextLanguage: resolved.embeddings.fullTextLanguage,
    assertUsable: (operation) => {
      assertOpen(state, operation)
      assertOutsideTransaction(connection, operation)
    },
    eraseUser: eraseUserEverywhere,
    transaction: (fn) => runTransaction(fn),
  }

  const extensionsOf = (
    repositories: Repositories,
    db: ExtensionScope['db'],
    inTransaction: boolean,
  ): Record<string, unknown> =>
    resolved.extensions.length === 0
      ? NO_EXTENSIONS
      : buildExtensions(resolved.extensions, { ...repositories, db, inTransaction })

  const scopeOf = (context: RepositoryContext): TransactionScope<Record<string, unknown>> => {
    const repositories = buildRepositories(context)
    return {
      ...repositories,
      db: context.executor as StratumTransaction,
      ext: extensionsOf(repositories, context.executor, true),
      transaction: (fn) => context.transaction((inner) => fn(scopeOf(inner))),
    }
  }
  const rootRepositories = buildRepositories(rootContext, connection, admin)

  const guard = (operation: string) => rootContext.assertUsable(operation)
  let closing: Promise<void> | undefined

  const layer: DataLayer<Record<string, unknown>> = {
    ...rootRepositories,
    ext: extensionsOf(rootRepositories, connection.db, false),
    backend: connection.kind,
    db: connection.db,
    embeddingDimensions: dimensions,
    cache: refuseAfterClose(cache, 'data.cache', () => state.closed),
    sessions: refuseAfterClose(sessions, 'data.sessions', () => state.closed),
    blobs: refuseAfterClose(blobs, 'data.blobs', () => state.closed),
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
        return await runTransaction((context) => fn(scopeOf(context)), given)
      } catch (error) {
        throw mapIfDatabaseError(error, 'transaction')
      }
    },
    readYourWrites(fn) {
      return readReplicas ? readReplicas.readYourWrites(fn) : fn()
    },
    async migrate(options) {
      guard('data.migrate')
      try {
        const result = options?.verify
          ? await verifiedMigrate({
              admin,
              sets: migrationSets,
              backup: () => layer.backup(),
              restore: (key, restoreOptions) => layer.restore(key, restoreOptions),
              open: (target) =>
                'url' in target
                  ? Promise.resolve(
                      openPostgres({
                        url: target.url,
                        pool: { ...resolved.database.pool, max: 1, min: 0 },
                        tls: resolved.database.tls,
                        onIdleError: () => {},
                      }),
                    )
                  : openPGlite({ dir: target.dir }),
              ...(options.onStep ? { onStep: options.onStep } : {}),
            })
          : await applyMigrations(admin, migrationSets)
        await checkVectorTable(connection, resolved.embeddings, vectorTable)
        return result
      } catch (error) {
        throw mapDatabaseError(error, 'migrate')
      }
    },
    async migrationStatus() {
      guard('data.migrationStatus')
      try {
        return await readMigrationStatus(admin, migrationSets)
      } catch (error) {
        throw mapDatabaseError(error, 'migrationStatus')
      }
    },
    async backup(options) {
      guard('data.backup')
      return createBackup(
        {
          connection: admin,
          blobs,
          databaseUrl: admin.url,
          settings: resolved.backups,
          migrationHead: async () => {
            const { applied } = await readMigrationStatus(admin, migrationSets)
            const last = applied.at(-1)
            return last ? `${last.set}/${last.tag}` : null
          },
        },
        options,
      )
    },
    async backups() {
      guard('data.backups')
      return listBackups(blobs, resolved.backups.prefix)
    },
    async restore(key, options) {
      guard('data.restore')
      return restoreBackup(
        {
          backend: connection.kind,
          blobs,
          databaseUrl: admin.url,
          settings: resolved.backups,
        },
        key,
        options,
      )
    },
    metrics() {
      return {
        database: {
          backend: connection.kind,
          pool: connection.poolStats(),
          queries: observer.metrics(),
          ...(readReplicas ? { replicas: readReplicas.stats() } : {}),
        },
        cache: { backend: cache.kind, ...cache.stats() },
        blobs: { backend: blobs.kind, ...blobs.stats() },
      }
    },
    async doctor() {
      guard('data.doctor')
      try {
        return await runDoctor(admin)
      } catch (error) {
        throw mapIfDatabaseError(error, 'doctor')
      }
    },
    async roles(options = {}) {
      guard('data.roles')
      if (connection.kind !== 'postgres')
        throw new StratumError(
          'UNSUPPORTED',
          'roles need a PostgreSQL server: PGlite has a single user and no login roles',
        )
      try {
        return await admin.withMigrationLock(async (session) => {
          const [row] = await session.query<{ name: string }>('SELECT current_database() AS name')
          return applyRoles(
            session,
            row!.name,
            options,
            options.apply ?? false,
            migrationTables(migrationSets),
          )
        })
      } catch (error) {
        throw mapIfDatabaseError(error, 'roles')
      }
    },
    async health() {
      const [database, cachePart, blobsPart] = await Promise.all([
        checkDatabase(connection, state, resolved.database.pool.connectionTimeoutMs, readReplicas),
        checkCache(cache, state, resolved.cache.redis.commandTimeoutMs * 4),
        checkBlobs(blobs, state, BLOB_HEALTH_TIMEOUT_MS),
      ])
      const status =
        database.status === 'down'
          ? 'down'
          : cachePart.status === 'down' ||
              blobsPart.status === 'down' ||
              database.replicas?.some((replica) => replica.status !== 'ok')
            ? 'degraded'
            : 'ok'
      return {
        status,
        checkedAt: new Date(),
        parts: { database, cache: cachePart, blobs: blobsPart },
      }
    },
    close() {
      state.closed = true
      closing ??= Promise.all([
        connection.close(),
        readReplicas?.close(),
        admin.close(),
        cache.close(),
        blobs.close(),
      ]).then(() => {})
      return closing
    },
  }
  return layer
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
