import { readFileSync } from 'node:fs'
import type { PGlite } from '@electric-sql/pglite'
import type { Pool } from 'pg'
import { z } from 'zod'
import type { Logger } from './db/query-observer.js'
import { ConfigError } from './errors.js'
import type { DataLayerExtension } from './extensions/extension.js'
import { clip } from './util/clip.js'

/**
 * Largest embedding dimension: pgvector indexes `halfvec` up to 4,000 dimensions (and
 * `vector` up to 2,000), so above 2,000 the indexes are built on `embedding::halfvec(N)`.
 */
export const MAX_INDEXED_DIMENSIONS = 4000

/** The most hash partitions `embeddings.partitions` may ask for. */
export const MAX_VECTOR_PARTITIONS = 1024

/** How one table's rows are cached, or `false` for not at all. */
const tableCacheSchema = z.union([
  z.literal(false),
  z
    .object({
      ttlMs: z.number().int().min(1).optional(),
      negativeTtlMs: z.number().int().min(0).optional(),
      /** The read methods cached (default: all of the table's cached reads). */
      methods: z.array(z.string().min(1)).optional(),
    })
    .strict(),
])

/** How one table's rows are cached: an entry of `cache.entities.tables`. */
export type TableCacheSetting = z.input<typeof tableCacheSchema>

const poolSchema = z
  .object({
    max: z.number().int().min(1).max(10_000).default(10),
    min: z.number().int().min(0).default(0),
    idleTimeoutMs: z.number().int().min(0).default(10_000),
    connectionTimeoutMs: z.number().int().min(1).default(5_000),
    statementTimeoutMs: z.number().int().min(0).default(0),
    applicationName: z.string().min(1).max(63).default('stratum-data'),
  })
  .strict()
  .refine((p) => p.min <= p.max, { message: 'min must not exceed max', path: ['min'] })

const pemSchema = z.union([z.string().min(1), z.instanceof(Buffer)])

const tlsSchema = z.union([
  z.boolean(),
  z
    .object({
      ca: pemSchema.optional(),
      cert: pemSchema.optional(),
      key: pemSchema.optional(),
      servername: z.string().optional(),
      rejectUnauthorized: z.boolean().default(true),
    })
    .strict(),
])

const postgresUrl = z.string().superRefine((value, ctx) => {
  let protocol: string
  try {
    protocol = new URL(value).protocol
  } catch {
    ctx.addIssue({
      code: 'custom',
      message: 'is not a valid URL (expected postgres://user:password@host:port/database)',
    })
    return
  }
  if (protocol !== 'postgres:' && protocol !== 'postgresql:') {
    ctx.addIssue({ code: 'custom', message: 'must start with postgres:// or postgresql://' })
  }
})

const isPool = (value: unknown): value is Pool =>
  typeof value === 'object' && value !== null && 'connect' in value && 'totalCount' in value
const isPGlite = (value: unknown): value is PGlite =>
  typeof value === 'object' && value !== null && 'exec' in value && 'waitReady' in value

const databaseSchema = z
  .object({
    dir: z.string().min(1).optional(),
    client: z
      .custom<Pool | PGlite>((v) => isPool(v) || isPGlite(v), {
        message: 'must be a pg Pool or a PGlite instance',
      })
      .optional(),
    /**
     * PGlite only: start from this data directory dump (`PGlite.dumpDataDir()`) instead of
     * an empty cluster; how test data layers start from a migrated template.
     */
    loadDataDir: z
      .custom<Blob>((v) => v instanceof Blob, { message: 'must be a Blob from dumpDataDir()' })
      .optional(),
    pool: poolSchema.default(poolSchema.parse({})),
    tls: tlsSchema.optional(),
    /** Queries at or over this many ms are counted as slow and logged (0: never). */
    slowQueryMs: z.number().int().min(0).default(500),
    /**
     * `false` behind a transaction-mode pooler (PgBouncer, Supavisor, RDS Proxy): reads by
     * key then go out as unnamed statements, which need no session state, and work that
     * needs a session (migrations, index builds, backups) runs on `directUrl`.
     */
    preparedStatements: z.boolean().default(true),
    /** How often a replica taken out is tried again (and its lag read, with `replicaMaxLagMs`). */
    replicaProbeMs: z.number().int().min(10).max(600_000).default(1000),
    /**
     * Takes a replica out of the read rotation while its replay is further behind than this
     * many milliseconds (read every `replicaProbeMs`); unset, replicas are used however far
     * behind they are.
     */
    replicaMaxLagMs: z.number().int().min(1).max(86_400_000).optional(),
    /**
     * `true`: `createDataLayer()` resolves while the database server is unreachable (a
     * service starting during a database restart still serves what its cache and blob
     * store can); the layer keeps trying every `replicaProbeMs`, and database calls fail
     * with `UNAVAILABLE` until it is reached. Default false: an unreachable server rejects.
     */
    startWhenDown: z.boolean().default(false),
  })
  .strict()

const redisUrl = z.string().superRefine((value, ctx) => {
  let protocol: string
  try {
    protocol = new URL(value).protocol
  } catch {
    ctx.addIssue({ code: 'custom', message: 'is not a valid URL (expected redis://host:port)' })
    return
  }
  if (protocol !== 'redis:' && protocol !== 'rediss:') {
    ctx.addIssue({ code: 'custom', message: 'must start with redis:// or rediss://' })
  }
})

const isRedisClient = (value: unknown): boolean =>
  typeof value === 'object' && value !== null && 'defineCommand' in value && 'status' in value

const cacheSchema = z
  .object({
    prefix: z
      .string()
      .min(1)
      .max(128)
      .regex(
        /^[^\s{}]+$/,
        'must not contain spaces or braces (keys are hash-tagged for Redis Cluster)',
      )
      .default('stratum:'),
    defaultTtlMs: z.number().int().min(1).default(300_000),
    maxValueBytes: z
      .number()
      .int()
      .min(1)
      .max(512 * 1024 * 1024)
      .default(1024 * 1024),
    memory: z
      .object({
        maxEntries: z.number().int().min(1).default(10_000),
        maxBytes: z
          .number()
          .int()
          .min(1024)
          .default(64 * 1024 * 1024),
      })
      .strict()
      .default({ maxEntries: 10_000, maxBytes: 64 * 1024 * 1024 }),
    ttlJitter: z.number().min(0).max(0.9).default(0.1),
    leaseTtlMs: z.number().int().min(1).max(60_000).default(1000),
    l1: z
      .object({
        enabled: z.boolean().default(false),
        maxEntries: z.number().int().min(1).default(10_000),
        ttlMs: z.number().int().min(1).max(3_600_000).default(5_000),
      })
      .strict()
      .default({ enabled: false, maxEntries: 10_000, ttlMs: 5_000 }),
    circuitBreaker: z
      .object({
        failureThreshold: z.number().int().min(1).default(5),
        cooldownMs: z.number().int().min(1).default(1000),
      })
      .strict()
      .default({ failureThreshold: 5, cooldownMs: 1000 }),
    entities: z
      .object({
        enabled: z.union([z.boolean(), z.literal('auto')]).default('auto'),
        ttlMs: z.number().int().min(1).default(300_000),
        negativeTtlMs: z.number().int().min(0).default(30_000),
        tables: z.record(z.string(), tableCacheSchema).default({}),
      })
      .strict()
      .default({ enabled: 'auto', ttlMs: 300_000, negativeTtlMs: 30_000, tables: {} }),
    testing: z
      .object({
        fencing: z.boolean().optional(),
        beforeFill: z
          .custom<(key: string) => Promise<void>>((v) => typeof v === 'function', {
            message: 'must be a function',
          })
          .optional(),
      })
      .strict()
      .optional(),
    redis: z
      .object({
        client: z
          .custom<object>(isRedisClient, { message: 'must be an ioredis client' })
          .optional(),
        /** Seed nodes of a Redis Cluster, instead of `redisUrl`. */
        clusterNodes: z.array(redisUrl).min(1).max(64).optional(),
        /** Sentinels that know the master `name`, instead of `redisUrl`: failovers are followed. */
        sentinel: z
          .object({
            nodes: z.array(redisUrl).min(1).max(64),
            name: z.string().min(1).max(128),
          })
          .strict()
          .optional(),
        commandTimeoutMs: z.number().int().min(1).default(250),
        connectTimeoutMs: z.number().int().min(1).default(1000),
        /** TLS for Redis: `true` (system CAs) or `{ ca, cert, key, servername, rejectUnauthorized }`. */
        tls: tlsSchema.optional(),
      })
      .strict()
      .default({ commandTimeoutMs: 250, connectTimeoutMs: 1000 }),
  })
  .strict()

const isS3Client = (value: unknown): boolean =>
  typeof value === 'object' && value !== null && 'send' in value && 'config' in value
const isBlobDriver = (value: unknown): boolean =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as { put?: unknown }).put === 'function' &&
  typeof (value as { list?: unknown }).list === 'function'

const s3Schema = z
  .object({
    bucket: z
      .string()
      .regex(
        /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
        'must be an S3 bucket name (3-63 characters: a-z, 0-9, . and -)',
      ),
    region: z.string().min(1).optional(),
    endpoint: z.string().url().optional(),
    forcePathStyle: z.boolean().optional(),
    credentials: z
      .object({
        accessKeyId: z.string().min(1),
        secretAccessKey: z.string().min(1),
        sessionToken: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
    client: z.custom<object>(isS3Client, { message: 'must be an S3Client' }).optional(),
    checksums: z.enum(['when_supported', 'when_required']).optional(),
    maxAttempts: z.number().int().min(1).max(20).optional(),
  })
  .strict()

const blobsSchema = z
  .object({
    /** Directory of the filesystem driver (default `./.stratum/blobs`). */
    dir: z.string().min(1).optional(),
    /** Any `BlobDriver` (for example `memoryBlobDriver()`), instead of S3 or the filesystem. */
    driver: z.custom<object>(isBlobDriver, { message: 'must be a BlobDriver' }).optional(),
    prefix: z.string().max(512).default(''),
    partSizeBytes: z
      .number()
      .int()
      .min(5 * 1024 * 1024)
      .default(8 * 1024 * 1024),
    queueSize: z.number().int().min(1).max(64).default(4),
    fsync: z.boolean().default(true),
  })
  .strict()

const backupsSchema = z
  .object({
    prefix: z.string().min(1).max(256).default('backups/'),
    keep: z.number().int().min(1).max(10_000).default(30),
    maxAgeDays: z.number().positive().max(36_500).default(7),
    pgBinDir: z.string().min(1).optional(),
  })
  .strict()

const optionsSchema = z
  .object({
    databaseUrl: postgresUrl.optional(),
    /** A pino-compatible logger (`warn(object, message)`) for slow queries. */
    logger: z
      .custom<Logger>(
        (v) => typeof v === 'object' && v !== null && typeof (v as Logger).warn === 'function',
        { message: 'must be a logger with a warn(object, message) method (pino-compatible)' },
      )
      .optional(),
    /**
     * A URL with DDL rights for migrations, index builds, backups and restores, when
     * `databaseUrl` connects as an application role without them (`stratum roles`).
     */
    adminUrl: postgresUrl.optional(),
    /**
     * A direct (session) URL to the same database, for migrations, index builds and
     * backups, when `databaseUrl` goes through a transaction-mode pooler.
     */
    directUrl: postgresUrl.optional(),
    /**
     * Streaming replicas of `databaseUrl`'s database: reads outside transactions go to
     * them round robin (see `data.readYourWrites()` and `consistency: 'primary'`).
     */
    replicas: z.array(postgresUrl).max(32).default([]),
    backups: backupsSchema.default(backupsSchema.parse({})),
    migrations: z
      .object({
        /**
         * Migration sets applied after the core one, in order, under the same lock: each
         * a drizzle-kit output folder, tracked by (name, tag).
         */
        sets: z
          .array(
            z
              .object({
                name: z
                  .string()
                  .regex(/^[a-z][a-z0-9_-]{0,62}$/, 'must be lower-case a-z, 0-9, _ and -')
                  .refine((n) => n !== 'core', "core is the library's own set"),
                folder: z.string().min(1),
                parameters: z.record(z.string(), z.string()).optional(),
              })
              .strict(),
          )
          .default([]),
      })
      .strict()
      .default({ sets: [] }),
    /**
     * Packages adding their own tables, migrations and `data.ext` accessor
     * (`defineExtension()`); their migrations run after the core's and `migrations.sets`.
     */
    extensions: z
      .array(
        z.custom<DataLayerExtension>(
          (v) =>
            typeof v === 'object' &&
            v !== null &&
            typeof (v as { api?: unknown }).api === 'function',
          { message: 'must be an extension from defineExtension()' },
        ),
      )
      .default([]),
    erasure: z
      .object({
        /** Blob prefixes holding one user's objects; `{userId}` is replaced. */
        blobPrefixes: z
          .array(
            z
              .string()
              .min(1)
              .refine((p) => p.includes('{userId}'), 'must contain {userId}'),
          )
          .default(['users/{userId}/']),
      })
      .strict()
      .default({ blobPrefixes: ['users/{userId}/'] }),
    s3: s3Schema.optional(),
    blobs: blobsSchema.default(blobsSchema.parse({})),
    redisUrl: redisUrl.optional(),
    cache: cacheSchema.default(cacheSchema.parse({})),
    database: databaseSchema.default(databaseSchema.parse({})),
    embeddings: z
      .object({
        dimensions: z.number().int().min(1).max(MAX_INDEXED_DIMENSIONS).default(1536),
        /**
         * Text search configuration of `content_tsv` (hybrid search), fixed when the
         * migration is applied: 'english', 'simple', 'german', ...
         */
        fullTextLanguage: z
          .string()
          .regex(/^[a-z_]{1,63}$/, 'must be a text search configuration name such as english')
          .default('english'),
        /**
         * Hash partitions of `chat_vectors` by `user_id` (2 to 1,024), fixed when the
         * migration creates the table; each partition gets its own vector indexes. Unset: a
         * new table is not partitioned, and an existing one is used as it is.
         */
        partitions: z
          .number()
          .int()
          .min(2, 'must be at least 2 (leave it unset for one table)')
          .max(MAX_VECTOR_PARTITIONS)
          .optional(),
      })
      .strict()
      .default({ dimensions: 1536, fullTextLanguage: 'english' }),
  })
  .strict()
  .superRefine((o, ctx) => {
    const given = [
      o.databaseUrl && 'databaseUrl',
      o.database.dir && 'database.dir',
      o.database.client && 'database.client',
    ].filter(Boolean)
    const redisGiven = [
      o.redisUrl && 'redisUrl',
      o.cache.redis.client && 'cache.redis.client',
      o.cache.redis.clusterNodes && 'cache.redis.clusterNodes',
      o.cache.redis.sentinel && 'cache.redis.sentinel',
    ].filter(Boolean)
    if (redisGiven.length > 1) {
      ctx.addIssue({
        code: 'custom',
        message: `give only one of ${redisGiven.join(', ')}`,
        path: ['redisUrl'],
      })
    }
    if (o.directUrl && !o.databaseUrl) {
      ctx.addIssue({
        code: 'custom',
        message: 'directUrl needs databaseUrl (the pooled connection)',
        path: ['directUrl'],
      })
    }
    if (o.directUrl && o.adminUrl) {
      ctx.addIssue({
        code: 'custom',
        message:
          'give only one of adminUrl, directUrl (adminUrl is a direct connection too: migrations, index builds and backups run on it)',
        path: ['directUrl'],
      })
    }
    if (o.replicas.length > 0 && !o.databaseUrl) {
      ctx.addIssue({
        code: 'custom',
        message: 'replicas need databaseUrl (the primary server)',
        path: ['replicas'],
      })
    }
    if (o.adminUrl && !o.databaseUrl) {
      ctx.addIssue({
        code: 'custom',
        message: 'adminUrl needs databaseUrl (the application connection)',
        path: ['adminUrl'],
      })
    }
    const blobBackends = [
      o.s3 && 's3',
      o.blobs.dir && 'blobs.dir',
      o.blobs.driver && 'blobs.driver',
    ].filter(Boolean)
    if (blobBackends.length > 1) {
      ctx.addIssue({
        code: 'custom',
        message: `give only one of ${blobBackends.join(', ')}`,
        path: ['s3'],
      })
    }
    if (given.length > 1) {
      ctx.addIssue({
        code: 'custom',
        message: `give only one of ${given.join(', ')}`,
        path: ['databaseUrl'],
      })
    }
    if (o.database.loadDataDir && (o.databaseUrl || o.database.client)) {
      ctx.addIssue({
        code: 'custom',
        message:
          'is for a PGlite that the data layer starts itself (not with databaseUrl or database.client)',
        path: ['database', 'loadDataDir'],
      })
    }
  })

/** Options of `createDataLayer()`, as the caller writes them (every field optional). */
export type DataLayerOptions = z.input<typeof optionsSchema>
/** Options after validation, with every default filled in. */
export type ResolvedOptions = z.output<typeof optionsSchema>
/** TLS settings for a Postgres server connection. */
export type TlsOptions = z.input<typeof tlsSchema>
/** Connection pool settings for a Postgres server. */
export type PoolOptions = z.input<typeof poolSchema>

/**
 * Validates options and fills in defaults; throws a `CONFIG` error naming the first bad
 * option. Values are never echoed (they may be secrets).
 * @internal
 */
export function resolveOptions(options: DataLayerOptions = {}): ResolvedOptions {
  const parsed = optionsSchema.safeParse(options)
  if (parsed.success) return parsed.data
  const described = parsed.error.issues.map((issue) => {
    const path = issue.path.map((p) => clip(String(p))).join('.') || '(options)'
    const message =
      issue.code === 'unrecognized_keys'
        ? `unknown option(s) ${issue.keys.map((key) => clip(key)).join(', ')}`
        : issue.message
    return `${path}: ${message}`
  })
  throw new ConfigError(`Invalid stratum-data options: ${described.join('; ')}`)
}

type EnvKind = 'string' | 'int' | 'boolean' | 'file' | 'list'

/** One environment variable read by `createDataLayer.fromEnv()`. */
export interface EnvVariable {
  readonly name: string
  readonly path: readonly string[]
  readonly kind: EnvKind
  readonly description: string
}

/** Every environment variable `createDataLayer.fromEnv()` reads, with the option it sets. */
export const ENV_VARIABLES: readonly EnvVariable[] = [
  {
    name: 'DATABASE_URL',
    path: ['databaseUrl'],
    kind: 'string',
    description: 'Postgres server URL; unset means embedded PGlite',
  },
  {
    name: 'DATABASE_ADMIN_URL',
    path: ['adminUrl'],
    kind: 'string',
    description:
      'URL with DDL rights for migrations, index builds and backups (DATABASE_URL then runs queries only)',
  },
  {
    name: 'DATABASE_DIRECT_URL',
    path: ['directUrl'],
    kind: 'string',
    description:
      'direct (session) URL for migrations, index builds and backups when DATABASE_URL goes through a transaction pooler',
  },
  {
    name: 'REDIS_CLUSTER_NODES',
    path: ['cache', 'redis', 'clusterNodes'],
    kind: 'list',
    description: 'comma-separated redis:// URLs of Redis Cluster seed nodes, instead of REDIS_URL',
  },
  {
    name: 'REDIS_SENTINEL_NODES',
    path: ['cache', 'redis', 'sentinel', 'nodes'],
    kind: 'list',
    description: 'comma-separated redis:// URLs of Redis Sentinels, instead of REDIS_URL',
  },
  {
    name: 'REDIS_SENTINEL_NAME',
    path: ['cache', 'redis', 'sentinel', 'name'],
    kind: 'string',
    description: 'the master name the Sentinels monitor',
  },
  {
    name: 'DATABASE_REPLICA_URLS',
    path: ['replicas'],
    kind: 'list',
    description: 'comma-separated URLs of streaming replicas that serve reads outside transactions',
  },
  {
    name: 'DATABASE_REPLICA_MAX_LAG_MS',
    path: ['database', 'replicaMaxLagMs'],
    kind: 'int',
    description: 'take a replica out of the read rotation while its replay lags more than this',
  },
  {
    name: 'DATABASE_PREPARED_STATEMENTS',
    path: ['database', 'preparedStatements'],
    kind: 'boolean',
    description:
      'false behind a transaction-mode pooler (PgBouncer, Supavisor): no named statements',
  },
  {
    name: 'STRATUM_DATA_DIR',
    path: ['database', 'dir'],
    kind: 'string',
    description: 'directory for the embedded PGlite database; unset means in memory',
  },
  {
    name: 'DATABASE_POOL_MAX',
    path: ['database', 'pool', 'max'],
    kind: 'int',
    description: 'most connections in the pool',
  },
  {
    name: 'DATABASE_POOL_MIN',
    path: ['database', 'pool', 'min'],
    kind: 'int',
    description: 'connections kept open when idle',
  },
  {
    name: 'DATABASE_IDLE_TIMEOUT_MS',
    path: ['database', 'pool', 'idleTimeoutMs'],
    kind: 'int',
    description: 'close a connection idle this long',
  },
  {
    name: 'DATABASE_CONNECT_TIMEOUT_MS',
    path: ['database', 'pool', 'connectionTimeoutMs'],
    kind: 'int',
    description: 'give up connecting after this long',
  },
  {
    name: 'DATABASE_STATEMENT_TIMEOUT_MS',
    path: ['database', 'pool', 'statementTimeoutMs'],
    kind: 'int',
    description: 'cancel statements running longer (0: no limit)',
  },
  {
    name: 'DATABASE_APPLICATION_NAME',
    path: ['database', 'pool', 'applicationName'],
    kind: 'string',
    description: 'application_name shown in pg_stat_activity',
  },
  {
    name: 'DATABASE_SLOW_QUERY_MS',
    path: ['database', 'slowQueryMs'],
    kind: 'int',
    description: 'queries at or over this many ms are counted as slow and logged (0: never)',
  },
  {
    name: 'DATABASE_START_WHEN_DOWN',
    path: ['database', 'startWhenDown'],
    kind: 'boolean',
    description: 'true: start while the database is unreachable and connect when it can',
  },
  {
    name: 'DATABASE_TLS',
    path: ['database', 'tls'],
    kind: 'boolean',
    description: 'connect with TLS, verifying the server certificate',
  },
  {
    name: 'DATABASE_TLS_CA_FILE',
    path: ['database', 'tls', 'ca'],
    kind: 'file',
    description: 'PEM file of the CA that signed the server certificate (turns TLS on)',
  },
  {
    name: 'DATABASE_TLS_SERVERNAME',
    path: ['database', 'tls', 'servername'],
    kind: 'string',
    description: "the name the database server's certificate must carry, if not the URL's host",
  },
  {
    name: 'DATABASE_TLS_REJECT_UNAUTHORIZED',
    path: ['database', 'tls', 'rejectUnauthorized'],
    kind: 'boolean',
    description: 'false turns certificate verification off (explicitly; the default is on)',
  },

  {
    name: 'REDIS_URL',
    path: ['redisUrl'],
    kind: 'string',
    description: 'Redis URL for the cache; unset means the in-process LRU',
  },
  {
    name: 'REDIS_TLS',
    path: ['cache', 'redis', 'tls'],
    kind: 'boolean',
    description: 'connect to Redis with TLS, verifying its certificate (a rediss:// URL does too)',
  },
  {
    name: 'REDIS_TLS_CA_FILE',
    path: ['cache', 'redis', 'tls', 'ca'],
    kind: 'file',
    description: 'PEM file of the CA that signed the Redis server certificate (turns TLS on)',
  },
  {
    name: 'REDIS_TLS_SERVERNAME',
    path: ['cache', 'redis', 'tls', 'servername'],
    kind: 'string',
    description: "the name the Redis server's certificate must carry, if not the URL's host",
  },
  {
    name: 'REDIS_TLS_REJECT_UNAUTHORIZED',
    path: ['cache', 'redis', 'tls', 'rejectUnauthorized'],
    kind: 'boolean',
    description: 'false turns Redis certificate verification off (explicitly; the default is on)',
  },
  {
    name: 'STRATUM_CACHE_PREFIX',
    path: ['cache', 'prefix'],
    kind: 'string',
    description: 'prefix of every cache key',
  },
  {
    name: 'STRATUM_FULL_TEXT_LANGUAGE',
    path: ['embeddings', 'fullTextLanguage'],
    kind: 'string',
    description: 'text search configuration of chat_vectors.content_tsv (hybrid search)',
  },
  {
    name: 'STRATUM_CACHE_L1',
    path: ['cache', 'l1', 'enabled'],
    kind: 'boolean',
    description: 'in-process L1 tier in front of Redis, invalidated through pub/sub',
  },
  {
    name: 'STRATUM_CACHE_L1_TTL_MS',
    path: ['cache', 'l1', 'ttlMs'],
    kind: 'int',
    description: 'lifetime of an L1 entry: the staleness bound should a message be lost',
  },
  {
    name: 'S3_BUCKET',
    path: ['s3', 'bucket'],
    kind: 'string',
    description: 'S3 bucket for blobs; unset means the filesystem (STRATUM_BLOB_DIR)',
  },
  {
    name: 'S3_REGION',
    path: ['s3', 'region'],
    kind: 'string',
    description:
      'S3 region (else the SDK reads AWS_REGION); credentials come from the AWS_* variables',
  },
  {
    name: 'S3_ENDPOINT',
    path: ['s3', 'endpoint'],
    kind: 'string',
    description: 'URL of an S3-compatible service (MinIO, R2, ...)',
  },
  {
    name: 'S3_FORCE_PATH_STYLE',
    path: ['s3', 'forcePathStyle'],
    kind: 'boolean',
    description: 'path-style URLs (endpoint/bucket/key), which MinIO and s3rver need',
  },
  {
    name: 'S3_CHECKSUMS',
    path: ['s3', 'checksums'],
    kind: 'string',
    description:
      'when_supported (SDK default) or when_required (for services that mishandle CRC32 uploads)',
  },
  {
    name: 'STRATUM_BLOB_DIR',
    path: ['blobs', 'dir'],
    kind: 'string',
    description: 'directory of the filesystem blob store (default ./.stratum/blobs)',
  },
  {
    name: 'STRATUM_BLOB_PREFIX',
    path: ['blobs', 'prefix'],
    kind: 'string',
    description: 'prefix in front of every blob key',
  },
  {
    name: 'STRATUM_BACKUP_PREFIX',
    path: ['backups', 'prefix'],
    kind: 'string',
    description: 'blob key prefix of backups (default backups/)',
  },
  {
    name: 'STRATUM_BACKUP_KEEP',
    path: ['backups', 'keep'],
    kind: 'int',
    description: 'backups kept, newest first (default 30)',
  },
  {
    name: 'STRATUM_BACKUP_MAX_AGE_DAYS',
    path: ['backups', 'maxAgeDays'],
    kind: 'int',
    description: 'backups older than this are deleted, except the newest (default 7)',
  },
  {
    name: 'PG_BIN_DIR',
    path: ['backups', 'pgBinDir'],
    kind: 'string',
    description:
      'directory of pg_dump and pg_restore (default: /usr/lib/postgresql/<major>/bin, then PATH)',
  },
  {
    name: 'STRATUM_EMBEDDING_DIMENSIONS',
    path: ['embeddings', 'dimensions'],
    kind: 'int',
    description: 'dimension of chat_vectors.embedding',
  },
  {
    name: 'STRATUM_EMBEDDING_PARTITIONS',
    path: ['embeddings', 'partitions'],
    kind: 'int',
    description: 'hash partitions of chat_vectors by user_id, fixed when the table is created',
  },
]

function parseEnvValue(variable: EnvVariable, raw: string): unknown {
  switch (variable.kind) {
    case 'string':
      return raw
    case 'list':
      return raw
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean)
    case 'int': {
      if (!/^-?\d+$/.test(raw.trim()))
        throw new ConfigError(`${variable.name} must be a whole number`)
      return Number.parseInt(raw, 10)
    }
    case 'file': {
      try {
        return readFileSync(raw)
      } catch {
        throw new ConfigError(`${variable.name} names a file that cannot be read`)
      }
    }
    case 'boolean': {
      const v = raw.trim().toLowerCase()
      if (['1', 'true', 'yes', 'on'].includes(v)) return true
      if (['0', 'false', 'no', 'off'].includes(v)) return false
      throw new ConfigError(`${variable.name} must be true or false`)
    }
  }
}

/**
 * Reads options from environment variables (see {@link ENV_VARIABLES}); `overrides` win.
 * @internal
 */
export function optionsFromEnv(
  env: Record<string, string | undefined>,
  overrides: DataLayerOptions = {},
): DataLayerOptions {
  const options: Record<string, unknown> = {}
  for (const variable of ENV_VARIABLES) {
    const raw = env[variable.name]
    if (raw === undefined || raw === '') continue
    let target = options
    for (const key of variable.path.slice(0, -1)) {
      // `DATABASE_TLS=true` plus a nested TLS setting: the object form means TLS on.
      if (target[key] === true) target[key] = {}
      if (target[key] === false) {
        throw new ConfigError(
          `${variable.name} conflicts with ${key} turned off by another variable`,
        )
      }
      target[key] ??= {}
      target = target[key] as Record<string, unknown>
    }
    target[variable.path.at(-1)!] = parseEnvValue(variable, raw)
  }
  return deepMerge(options, overrides as Record<string, unknown>) as DataLayerOptions
}

function deepMerge(
  base: Record<string, unknown>,
  over: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base }
  for (const [key, value] of Object.entries(over)) {
    const existing = out[key]
    out[key] = isPlainObject(existing) && isPlainObject(value) ? deepMerge(existing, value) : value
  }
  return out
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype
  )
}
