import type { ExtractTablesWithRelations } from 'drizzle-orm'
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from 'drizzle-orm/pg-core'
import type * as schema from '../schema/index.js'

/** The tables and relations of the core schema. */
export type CoreSchema = typeof schema

/** What `db.execute()` returns on either backend: both drivers give `rows`. */
export interface StratumQueryResultHKT extends PgQueryResultHKT {
  type: RowsResult<this['row']>
}

/** The part of a query result both drivers share. */
export interface RowsResult<R> {
  rows: R[]
}

/** The typed Drizzle database, the same type on PGlite and on a Postgres server. */
export type StratumDatabase = PgDatabase<StratumQueryResultHKT, CoreSchema>

/** A Drizzle transaction on the core schema. */
export type StratumTransaction = PgTransaction<
  StratumQueryResultHKT,
  CoreSchema,
  ExtractTablesWithRelations<CoreSchema>
>

/** What `BEGIN` is given: isolation level and access mode, validated before it is sent. */
export interface DrizzleTransactionConfig {
  isolationLevel?: 'read uncommitted' | 'read committed' | 'repeatable read' | 'serializable'
  accessMode?: 'read only' | 'read write'
}

/** Either the database or a transaction: what repositories run their queries on. */
export type Executor = StratumDatabase | StratumTransaction

/** Connection pool figures. */
export interface PoolStats {
  readonly total: number
  readonly idle: number
  readonly waiting: number
}

/** Runs raw SQL on one session; used by migrations and checks, never by repositories. */
export interface SqlSession {
  query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<R[]>
  /** Runs `fn` in a transaction on this session. */
  transaction<T>(fn: (session: SqlSession) => Promise<T>): Promise<T>
}

/** A transaction on one session that can also stream rows in with `COPY`. */
export interface CopySession {
  query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<R[]>
  /**
   * `COPY <target> FROM` in text format, reading `data` (lines ending in newlines, fields
   * escaped for COPY's text format). On a server it streams (pg-copy-streams); PGlite reads
   * it as one blob (`/dev/blob`), its fastest path.
   */
  copyFrom(target: string, data: AsyncIterable<string> | Iterable<string>): Promise<void>
}

/**
 * One Postgres backend (PGlite or a server) as the rest of the library sees it.
 * @internal
 */
export interface DatabaseConnection {
  readonly kind: 'pglite' | 'postgres'
  readonly db: StratumDatabase
  /**
   * Runs `fn` in a Drizzle transaction on a session of its own: COMMIT when it resolves,
   * ROLLBACK when it throws (and then its error, never the ROLLBACK's). The session goes
   * back to the pool whatever happens, and is dropped when its connection broke.
   */
  transaction<T>(
    fn: (tx: StratumTransaction) => Promise<T>,
    config?: DrizzleTransactionConfig,
  ): Promise<T>
  /** Runs `fn` on one session while holding the migration lock (advisory lock or mutex). */
  withMigrationLock<T>(fn: (session: SqlSession) => Promise<T>): Promise<T>
  /**
   * Runs a named prepared statement and returns rows as arrays, with date and time
   * values left as Postgres text (as Drizzle's column decoders expect them). Returns the
   * driver's own result (no extra promise on this hot path).
   */
  queryPrepared(
    name: string,
    text: string,
    params: readonly unknown[],
  ): Promise<RowsResult<unknown[]>>
  /**
   * Runs `fn` in a read transaction of its own on one session; `prelude` (statements such
   * as `SET LOCAL hnsw.ef_search = 100`, built by the library from validated values only)
   * is sent together with BEGIN, so the settings cost no round trip of their own.
   */
  withReadTransaction<T>(
    prelude: string,
    fn: (query: <R>(text: string, params: readonly unknown[]) => Promise<R[]>) => Promise<T>,
  ): Promise<T>
  /** Runs `fn` in a transaction of its own on one session that can `COPY`. */
  withCopyTransaction<T>(fn: (session: CopySession) => Promise<T>): Promise<T>
  /** Runs raw SQL on any session. */
  query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<R[]>
  /** PGlite only: the whole data directory as a gzipped tarball (its backup format). */
  dumpDataDir?(): Promise<Blob>
  poolStats(): PoolStats
  close(): Promise<void>
}

/**
 * Type OIDs whose values are returned as Postgres text, matching Drizzle's drivers:
 * date, timestamp, timestamptz, interval and their arrays, and numeric[].
 * @internal
 */
export const RAW_TEXT_TYPE_OIDS: readonly number[] = [
  1082, 1114, 1184, 1186, 1182, 1115, 1185, 1187, 1231,
]
