import { z } from 'zod'
import { tlsSchema } from '../util/tls-options.js'

/** How one table's rows are cached, or `false` for not at all. */
export const tableCacheSchema = z.union([
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

/** A redis:// or rediss:// URL. */
export const redisUrl = z.string().superRefine((value, ctx) => {
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

/** The `cache` options: Redis or the in-process LRU, tiers, leases and entity caching. */
export const cacheSchema = z
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
