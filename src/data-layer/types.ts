import type { PgTable } from 'drizzle-orm/pg-core'
import type { AttachmentStore } from '../attachments/attachment-store.js'
import type { Cache } from '../cache/cache.js'
import type { CacheStats } from '../cache/cache-types.js'
import type { RateLimiter } from '../cache/rate-limiter.js'
import type { SessionStore } from '../cache/session-store.js'
import type { ChatContext } from '../context/chat-context.js'
import type { PoolStats, StratumDatabase, StratumTransaction } from '../db/connection.js'
import type { MigrateResult, MigrationStatus } from '../db/migrator.js'
import type { QueryMetrics } from '../db/query-observer.js'
import type { ReplicaStats } from '../db/read-replicas.js'
import type { EmbeddingQueue, EmbeddingStats } from '../embedding/embedding-queue.js'
import type { ChatLive } from '../live/chat-live.js'
import type { MemoryStore } from '../memory/memory-store.js'
import type { BackupInfo, TransferProgress } from '../ops/backup.js'
import type { DoctorReport } from '../ops/doctor.js'
import type { RestoreOptions, RestoreResult } from '../ops/restore.js'
import type { RolesOptions, RolesPlan } from '../ops/roles.js'
import type { MigrateStep } from '../ops/verified-migrate.js'
import type { ChatsRepository } from '../repositories/chats-repository.js'
import type { MessagesRepository } from '../repositories/messages-repository.js'
import type { Repository } from '../repositories/repository.js'
import type { TableSchemas } from '../repositories/table-definition.js'
import type { UsersRepository } from '../repositories/users-repository.js'
import type { BlobStats, BlobStore } from '../storage/blob-store.js'
import type { AdministeredVectorStore } from '../vector/vector-admin.js'
import type { VectorStore } from '../vector/vector-store.js'
import type { HealthReport } from './health.js'
import type { TransactionOptions } from './transaction-options.js'

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
  /** This process's embedding worker, when `embedOnWrite` is configured. */
  readonly embeddings?: EmbeddingStats
}

/**
 * The repositories inside a transaction (and in an extension's scope): what works on the
 * transaction's connection. Erasure and vector administration, which run in transactions
 * of their own, are only on the data layer ({@link Repositories}).
 */
export interface TransactionRepositories {
  readonly users: TransactionUsersRepository
  readonly chats: ChatsRepository
  readonly messages: MessagesRepository
  readonly vectors: VectorStore
  /**
   * A repository over any other Drizzle table with a single-column primary key, with the
   * same validation (drizzle-zod schemas unless you pass your own) and error mapping.
   */
  repository<T extends PgTable>(table: T, schemas?: TableSchemas): Repository<T>
}

/** `users` inside a transaction: everything but `erase()`, which runs a transaction of its own. */
export type TransactionUsersRepository = Omit<UsersRepository, 'erase'>

/** The data layer's repositories: those of a transaction, plus erasure and vector administration. */
export interface Repositories extends TransactionRepositories {
  readonly users: UsersRepository
  readonly vectors: AdministeredVectorStore
}

/** No extensions: the type of `data.ext` when none are given. */
export type NoExtensions = Readonly<Record<never, never>>

/** The handle passed to a `data.transaction()` callback: repositories bound to it. */
export interface TransactionScope<Ext extends object = NoExtensions>
  extends TransactionRepositories {
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
   * Files of chats in the blob store: checked uploads, file parts that show them, URLs made
   * on every read (signed on S3), deleted with their chat, branch or user.
   *
   * @example
   * ```ts
   * const file = await data.attachments.upload({ chatId, body: bytes, mediaType: 'image/png' })
   * const part = await data.attachments.filePart(file)
   * ```
   */
  readonly attachments: AttachmentStore
  /**
   * Live state of chats: a change feed of message writes, presence and typing that expire
   * on their own; on Redis across processes, on the embedded default within this one.
   *
   * @example
   * ```ts
   * const watching = await data.live.watch(chatId, { onEvent: (event) => console.log(event.type) })
   * await data.live.join(chatId, userId)
   * ```
   */
  readonly live: ChatLive
  /**
   * What a model sees on a chat's next turn, built within a token budget: the instructions,
   * the current turn, pinned notes, the rolling summary, relevant older messages and the
   * recent ones that fit.
   *
   * @example
   * ```ts
   * const context = await data.context.build({ chatId, userId, budget: 8000, system: 'Be brief.' })
   * ```
   */
  readonly context: ChatContext
  /**
   * Embedding on write (`embedOnWrite`): the durable queue of messages to embed, its status,
   * and `drain()` to embed what is due now (tests, scripts, serverless functions).
   *
   * @example
   * ```ts
   * await data.embeddings.drain()
   * const { queued, failed } = await data.embeddings.status()
   * ```
   */
  readonly embeddings: EmbeddingQueue
  /**
   * Long-term memory: a user's facts and preferences across chats, each valid from a time
   * until superseded or forgotten (history kept), searched by meaning, words or key.
   *
   * @example
   * ```ts
   * await data.memory.remember({ userId, key: 'home_city', content: 'Lives in Basel.' })
   * const [fact] = await data.memory.search({ userId, text: 'where does the user live?' })
   * ```
   */
  readonly memory: MemoryStore
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
