import { z } from 'zod'
import { tlsSchema } from '../util/tls-options.js'
import { isRedisClient, type RedisClient } from './redis-client.js'

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

/**
 * Every default of the cache, stated once: the options schema fills them in, and the
 * classes (`Cache`, the drivers, the L1 tier) fall back to them when built directly.
 */
export const CACHE_DEFAULTS = Object.freeze({
  prefix: 'stratum:',
  /** 5 minutes. */
  defaultTtlMs: 300_000,
  /** 1 MiB. */
  maxValueBytes: 1024 * 1024,
  ttlJitter: 0.1,
  leaseTtlMs: 1000,
  memory: Object.freeze({ maxEntries: 10_000, maxBytes: 64 * 1024 * 1024 } as const),
  l1: Object.freeze({ enabled: false, maxEntries: 10_000, ttlMs: 5_000 } as const),
  circuitBreaker: Object.freeze({ failureThreshold: 5, cooldownMs: 1000 } as const),
  entities: Object.freeze({ enabled: 'auto', ttlMs: 300_000, negativeTtlMs: 30_000 } as const),
  redis: Object.freeze({ commandTimeoutMs: 250, connectTimeoutMs: 1000 } as const),
} as const)

const D = CACHE_DEFAULTS

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
      .default(D.prefix),
    defaultTtlMs: z.number().int().min(1).default(D.defaultTtlMs),
    maxValueBytes: z
      .number()
      .int()
      .min(1)
      .max(512 * 1024 * 1024)
      .default(D.maxValueBytes),
    memory: z
      .object({
        maxEntries: z.number().int().min(1).default(D.memory.maxEntries),
        maxBytes: z.number().int().min(1024).default(D.memory.maxBytes),
      })
      .strict()
      .prefault({}),
    ttlJitter: z.number().min(0).max(0.9).default(D.ttlJitter),
    leaseTtlMs: z.number().int().min(1).max(60_000).default(D.leaseTtlMs),
    l1: z
      .object({
        enabled: z.boolean().default(D.l1.enabled),
        maxEntries: z.number().int().min(1).default(D.l1.maxEntries),
        ttlMs: z.number().int().min(1).max(3_600_000).default(D.l1.ttlMs),
      })
      .strict()
      .prefault({}),
    circuitBreaker: z
      .object({
        failureThreshold: z.number().int().min(1).default(D.circuitBreaker.failureThreshold),
        cooldownMs: z.number().int().min(1).default(D.circuitBreaker.cooldownMs),
      })
      .strict()
      .prefault({}),
    entities: z
      .object({
        enabled: z.union([z.boolean(), z.literal('auto')]).default(D.entities.enabled),
        ttlMs: z.number().int().min(1).default(D.entities.ttlMs),
        negativeTtlMs: z.number().int().min(0).default(D.entities.negativeTtlMs),
        tables: z.record(z.string(), tableCacheSchema).default({}),
      })
      .strict()
      .prefault({}),
    redis: z
      .object({
        client: z
          .custom<RedisClient>(isRedisClient, { message: 'must be an ioredis client' })
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
        commandTimeoutMs: z.number().int().min(1).default(D.redis.commandTimeoutMs),
        connectTimeoutMs: z.number().int().min(1).default(D.redis.connectTimeoutMs),
        /** TLS for Redis: `true` (system CAs) or `{ ca, cert, key, servername, rejectUnauthorized }`. */
        tls: tlsSchema.optional(),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .prefault({})
