import type { PGlite } from '@electric-sql/pglite'
import type { Pool } from 'pg'
import { z } from 'zod'
import { tlsSchema } from '../util/tls-options.js'

/** Connection pool settings for a Postgres server. */
export const poolSchema = z
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
  .prefault({})

/** A postgres:// or postgresql:// URL. */
export const postgresUrl = z.string().superRefine((value, ctx) => {
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

/** The `database` options: the embedded PGlite or the server pool, and how they behave. */
export const databaseSchema = z
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
    pool: poolSchema,
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
  .prefault({})

/** Connection pool settings for a Postgres server. */
export type PoolOptions = z.input<typeof poolSchema>
