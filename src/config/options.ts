import { z } from 'zod'
import { attachmentsSchema } from '../attachments/attachment-options.js'
import { cacheSchema, redisUrl } from '../cache/cache-options.js'
import { databaseSchema, postgresUrl } from '../db/database-options.js'
import type { Logger } from '../db/query-observer.js'
import { embedOnWriteSchema } from '../embedding/embed-on-write-options.js'
import { ConfigError } from '../errors.js'
import type { DataLayerExtension } from '../extensions/extension.js'
import { backupsSchema } from '../ops/backup-options.js'
import { blobsSchema, s3Schema } from '../storage/blob-options.js'
import { tokensSchema } from '../tokens/token-counter.js'
import { clip } from '../util/clip.js'
import { embeddingsSchema } from '../vector/embedding-options.js'

/** Every option of `createDataLayer()`, with the rules that tie options together. */
export const optionsSchema = z
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
    backups: backupsSchema,
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
      .prefault({}),
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
      .prefault({}),
    s3: s3Schema.optional(),
    blobs: blobsSchema,
    attachments: attachmentsSchema,
    tokens: tokensSchema,
    redisUrl: redisUrl.optional(),
    cache: cacheSchema,
    database: databaseSchema,
    embeddings: embeddingsSchema,
    /**
     * Embedding on write: finished messages are chunked and embedded off the request path
     * through a durable queue in Postgres, with `embed` (the AI SDK's `embedMany` fits).
     */
    embedOnWrite: embedOnWriteSchema.optional(),
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
