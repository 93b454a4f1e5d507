import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { drizzle } from 'drizzle-orm/node-postgres'
import pg from 'pg'
import { from as copyFrom } from 'pg-copy-streams'
import type { z } from 'zod'
import { ConfigError, StratumError } from '../errors.js'
import * as schema from '../schema/index.js'
import { tlsConnectionOptions } from '../util/tls-connection-options.js'
import type { TlsOptions as TlsInput } from '../util/tls-options.js'
import {
  type DatabaseConnection,
  RAW_TEXT_TYPE_OIDS,
  type SqlSession,
  type StratumDatabase,
  type StratumTransaction,
} from './connection.js'
import type { poolSchema } from './database-options.js'
import {
  isDatabaseError,
  isLostMidCall,
  mapDatabaseError,
  withOutcome,
} from './map-database-error.js'
import { instrument, type QueryObserver } from './query-observer.js'
import { guardClient } from './transaction-context.js'

/** Session-level advisory lock key that serializes migrations across processes. */
const MIGRATION_LOCK_KEY = '7261626373747261' // "stratum" as a stable int8

type PoolOptions = z.output<typeof poolSchema>
type TlsOptions = TlsInput | undefined

const SSL_URL_PARAMS = [
  'ssl',
  'sslmode',
  'sslcert',
  'sslkey',
  'sslrootcert',
  'sslpassword',
  'uselibpqcompat',
]

/** `sslmode` values that pg treats as verify-full today and has said it will weaken. */
const VERIFYING_ALIASES = new Set(['prefer', 'require', 'verify-ca'])

/**
 * Builds pg's `ssl` setting, with one meaning of the URL's `sslmode` that no dependency
 * update can change: `disable` is plaintext, `no-verify` is TLS without verification, and
 * every other mode (`prefer`, `require`, `verify-ca`, `verify-full`) is TLS with the
 * certificate and host name verified. pg has announced that a coming major will follow
 * libpq, where `require` does not verify; this pins the stricter meaning by rewriting
 * those modes to `verify-full` (only an explicit `uselibpqcompat=true` asks for libpq's).
 * With a `tls` option the URL's ssl parameters are removed, because pg lets them override
 * the `ssl` setting; `servername` is then the name the certificate must carry, whatever
 * host the URL names (pg would otherwise check the URL's host name instead).
 * @internal
 */
export function tlsSettings(
  url: string,
  tls: TlsOptions,
): { connectionString: string; ssl?: pg.PoolConfig['ssl'] } {
  const parsed = new URL(url)
  if (tls === undefined) {
    const mode = parsed.searchParams.get('sslmode')
    if (mode && VERIFYING_ALIASES.has(mode) && parsed.searchParams.get('uselibpqcompat') !== 'true')
      parsed.searchParams.set('sslmode', 'verify-full')
    return { connectionString: parsed.toString() }
  }
  for (const param of SSL_URL_PARAMS) parsed.searchParams.delete(param)
  const connectionString = parsed.toString()
  if (tls === false) return { connectionString, ssl: false }
  if (tls === true) return { connectionString, ssl: { rejectUnauthorized: true } }
  return { connectionString, ssl: tlsConnectionOptions(tls) }
}

const rawText = new Set(RAW_TEXT_TYPE_OIDS)
const identity = (value: string) => value
const preparedTypes = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    rawText.has(oid)
      ? identity
      : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
}

/** Clients whose ROLLBACK failed: their session state is unknown, so the pool drops them. */
const brokenClients = new WeakSet<pg.PoolClient>()

const listenedClients = new WeakSet<pg.ClientBase>()
const ignoreClientError = (error: Error) => void error

/**
 * Gives `client` an 'error' listener for its whole life. pg emits 'error' on a client
 * whose server connection ends (a terminated backend, a restart, a failover); the pool
 * listens only while a client is idle, so on a checked-out client (a transaction between
 * two queries) the event had no listener and crashed the process. The query in flight
 * still fails, and the pool drops the client when it comes back.
 * @internal
 */
export function keepErrorsHandled(client: pg.ClientBase): void {
  if (listenedClients.has(client)) return
  listenedClients.add(client)
  client.on('error', ignoreClientError)
}

/** A client from `pool`, with {@link keepErrorsHandled}. */
async function checkout(pool: pg.Pool): Promise<pg.PoolClient> {
  const client = await pool.connect()
  keepErrorsHandled(client)
  return client
}

/** Drizzle on one checked-out client (made once per client, which the pool reuses). */
const drizzleOnClient = new WeakMap<pg.PoolClient, StratumDatabase>()

/** Runs `fn` between `begin` (BEGIN plus any settings) and COMMIT; ROLLBACK on error. */
async function inTransaction<T>(
  client: pg.PoolClient,
  begin: string,
  fn: () => Promise<T>,
): Promise<T> {
  await client.query(begin)
  try {
    const result = await fn()
    await client.query('COMMIT')
    return result
  } catch (error) {
    await client.query('ROLLBACK').catch(() => brokenClients.add(client))
    throw error
  }
}

/** {@link inTransaction} on a client of its own from the pool. */
async function onPooledTransaction<T>(
  pool: pg.Pool,
  begin: string,
  fn: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await checkout(pool)
  try {
    return await inTransaction(client, begin, () => fn(client))
  } finally {
    client.release(brokenClients.has(client))
  }
}

const rowsOf =
  (client: pg.PoolClient) =>
  async <R>(text: string, params: readonly unknown[] = []): Promise<R[]> =>
    (await client.query(text, [...params])).rows as R[]

function sessionOf(client: pg.PoolClient): SqlSession {
  return {
    query: rowsOf(client),
    transaction: (fn) => inTransaction(client, 'BEGIN', () => fn(sessionOf(client))),
  }
}

function sessionWorkNeedsDirectUrl(): ConfigError {
  return new ConfigError(
    'Migrations, index builds and backups hold a session (an advisory lock), which a ' +
      'transaction-mode pooler does not keep: with database.preparedStatements false, set ' +
      'directUrl (DATABASE_DIRECT_URL) to a direct connection to the same database',
  )
}

/** Options of the Postgres server backend. @internal */
export interface PostgresConnectionOptions {
  readonly url?: string | undefined
  readonly client?: pg.Pool | undefined
  readonly pool: PoolOptions
  readonly tls: TlsOptions
  /** Called with errors of idle pooled connections (which would otherwise crash the process). */
  readonly onIdleError: (error: Error) => void
  /** Times the queries of a pool opened here (a pool passed in is left as it is). */
  readonly observer?: QueryObserver | undefined
  /**
   * False behind a transaction-mode pooler: reads by key go out unnamed, and session work
   * (the migration lock) is refused, since the pooler may hand each statement to another
   * server session. Default true.
   */
  readonly preparedStatements?: boolean | undefined
}

/**
 * Opens a `pg` pool (or wraps a given one) with Drizzle's node-postgres driver.
 * @internal
 */
export function openPostgres(options: PostgresConnectionOptions): DatabaseConnection {
  const owned = !options.client
  const pool =
    options.client ??
    new pg.Pool({
      ...tlsSettings(options.url!, options.tls),
      max: options.pool.max,
      min: options.pool.min,
      idleTimeoutMillis: options.pool.idleTimeoutMs,
      connectionTimeoutMillis: options.pool.connectionTimeoutMs,
      application_name: options.pool.applicationName,
      ...(options.pool.statementTimeoutMs > 0
        ? { statement_timeout: options.pool.statementTimeoutMs }
        : {}),
    })
  pool.on('error', options.onIdleError)
  if (owned) pool.on('connect', keepErrorsHandled)
  // pool.query is timed where it is called; it runs on a client with a callback, which the
  // client's wrapper passes through untimed, so each query counts once. Checked-out
  // clients (transactions, sessions) are timed on their own calls.
  const { observer } = options
  if (owned && observer) {
    instrument(pool, ['query'], observer)
    pool.on('connect', (client) => instrument(client, ['query'], observer))
  }
  const namedStatements = options.preparedStatements ?? true
  let closed = false
  const connection: DatabaseConnection = {
    kind: 'postgres',
    db: undefined as unknown as StratumDatabase,
    withReadTransaction: (prelude, fn) =>
      onPooledTransaction(pool, `BEGIN READ ONLY; ${prelude}`, (client) => fn(rowsOf(client))),
    withCopyTransaction: (fn) =>
      onPooledTransaction(pool, 'BEGIN', (client) =>
        fn({
          query: rowsOf(client),
          async copyFrom(target, data) {
            await pipeline(Readable.from(data), client.query(copyFrom(`COPY ${target} FROM STDIN`)))
          },
        }),
      ),
    async withMigrationLock(fn) {
      if (!namedStatements) throw sessionWorkNeedsDirectUrl()
      const client = await checkout(pool)
      try {
        // DDL in migrations may run long: no statement timeout on this session.
        await client.query('SET statement_timeout = 0')
        await client.query('SELECT pg_advisory_lock($1::bigint)', [MIGRATION_LOCK_KEY])
        return await fn(sessionOf(client))
      } finally {
        // Destroying the session releases the advisory lock server-side even if an unlock
        // would fail, and keeps the changed statement_timeout out of the pool.
        client.release(true)
      }
    },
    async transaction(fn, config) {
      // Drizzle's own pool transaction sends BEGIN before the code that releases the
      // client (a failed BEGIN kept it forever) and lets a failed ROLLBACK replace the
      // error that caused it; here the client is always released, dropped when broken.
      const client = await checkout(pool)
      let db = drizzleOnClient.get(client)
      if (!db) {
        db = drizzle({ client, schema }) as unknown as StratumDatabase
        drizzleOnClient.set(client, db)
      }
      let failure: { error: unknown } | undefined
      let began = false
      let broken = false
      try {
        return await db.transaction(async (tx) => {
          began = true
          try {
            return await fn(tx as StratumTransaction)
          } catch (error) {
            failure = { error }
            throw error
          }
        }, config)
      } catch (error) {
        broken = !(client as unknown as { _queryable?: boolean })._queryable
        // The transaction's own error, not the ROLLBACK's that followed it.
        if (failure && error !== failure.error) broken = true
        const cause = failure ? failure.error : error
        // Lost before COMMIT: the server rolls back. Lost during COMMIT: nobody knows.
        const outcome = began && !failure && isLostMidCall(error) ? 'unknown' : 'not-applied'
        if (cause instanceof StratumError) throw withOutcome(cause, outcome)
        // Only a lost connection is mapped here; any other error goes up as it came, for
        // the caller to map (and to read its SQLSTATE, as the 42P10 retry does).
        const mapped = isDatabaseError(cause) ? mapDatabaseError(cause, 'transaction') : undefined
        if (mapped?.code === 'UNAVAILABLE') throw withOutcome(mapped, outcome)
        throw cause
      } finally {
        client.release(broken)
      }
    },
    queryPrepared: (name, text, params) =>
      pool.query<unknown[]>({
        name: namedStatements ? name : undefined,
        text,
        values: params as unknown[],
        rowMode: 'array',
        types: preparedTypes,
      }),
    query: async <R>(text: string, params: readonly unknown[] = []) =>
      (await pool.query(text, [...params])).rows as R[],
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    async close() {
      if (closed) return
      closed = true
      pool.off('error', options.onIdleError)
      if (owned) {
        // A connection the server ends while the pool is closing (its database dropped, a
        // restart) is reported on the pool; with no listener it would be an unhandled error.
        pool.on('error', () => {})
        await pool.end()
      }
    },
  }
  const client = guardClient(pool, connection, ['query', 'connect'])
  ;(connection as { db: StratumDatabase }).db = drizzle({
    client,
    schema,
  }) as unknown as StratumDatabase
  return connection
}
