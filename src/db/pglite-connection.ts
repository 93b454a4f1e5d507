import { PGlite } from '@electric-sql/pglite'
import { vector } from '@electric-sql/pglite-pgvector'
import { Mutex } from 'async-mutex'
import { drizzle } from 'drizzle-orm/pglite'
import * as schema from '../schema/index.js'
import {
  type DatabaseConnection,
  RAW_TEXT_TYPE_OIDS,
  type SqlSession,
  type StratumDatabase,
  type StratumTransaction,
} from './connection.js'
import { lockDirectory } from './directory-lock.js'
import { instrument, type QueryObserver } from './query-observer.js'
import { guardClient } from './transaction-context.js'

const rawTextParsers = Object.fromEntries(
  RAW_TEXT_TYPE_OIDS.map((oid) => [oid, (value: string) => value]),
)

interface PGliteQueryable {
  query<R>(text: string, params?: unknown[]): Promise<{ rows: R[] }>
}

function sessionOf(client: PGliteQueryable & { transaction?: PGlite['transaction'] }): SqlSession {
  return {
    async query<R>(text: string, params: readonly unknown[] = []) {
      return (await client.query<R>(text, [...params])).rows
    },
    async transaction<T>(fn: (session: SqlSession) => Promise<T>) {
      if (!client.transaction)
        throw new Error('nested transactions are not supported on a raw session')
      return client.transaction((tx) => fn(sessionOf(tx)))
    },
  }
}

/** Options of the embedded PGlite backend. @internal */
export interface PGliteConnectionOptions {
  /** Directory to keep the database in; in memory when absent. */
  readonly dir?: string | undefined
  /** A ready PGlite instance (with the vector extension loaded); it is not closed by us. */
  readonly client?: PGlite | undefined
  /** A data directory dump to start from (`PGlite.dumpDataDir()`), for an instance created here. */
  readonly loadDataDir?: Blob | undefined
  /** Times the queries of an instance created here (one passed in is left as it is). */
  readonly observer?: QueryObserver | undefined
}

/**
 * Opens the embedded PGlite backend with pgvector. The PGlite instance is built here
 * (options passed through other layers are dropped by some wrappers), and a directory
 * is locked so that two processes never open it.
 * @internal
 */
export async function openPGlite(options: PGliteConnectionOptions): Promise<DatabaseConnection> {
  let release: (() => Promise<void>) | undefined
  if (options.dir && !options.client) release = await lockDirectory(options.dir)
  let pglite: PGlite
  try {
    pglite =
      options.client ??
      new PGlite({
        ...(options.dir ? { dataDir: options.dir } : {}),
        ...(options.loadDataDir ? { loadDataDir: options.loadDataDir } : {}),
        extensions: { vector },
      })
    await pglite.waitReady
  } catch (error) {
    await release?.()
    throw error
  }
  const owned = !options.client
  const { observer } = options
  if (owned && observer) {
    instrument(pglite, ['query', 'exec'], observer)
    const transaction = pglite.transaction.bind(pglite)
    pglite.transaction = (callback) =>
      transaction((tx) => {
        instrument(tx, ['query', 'exec'], observer)
        return callback(tx)
      })
  }
  const migrationMutex = new Mutex()
  const connection: DatabaseConnection = {
    kind: 'pglite',
    db: undefined as unknown as StratumDatabase,
    withReadTransaction: (prelude, fn) =>
      pglite.transaction(async (tx) => {
        if (prelude) await tx.exec(prelude)
        return fn(
          async <R>(text: string, params: readonly unknown[]) =>
            (await tx.query<R>(text, [...params])).rows,
        )
      }),
    withCopyTransaction: (fn) =>
      pglite.transaction(async (tx) =>
        fn({
          query: async <R>(text: string, params: readonly unknown[] = []) =>
            (await tx.query<R>(text, [...params])).rows,
          async copyFrom(target, data) {
            const parts: string[] = []
            for await (const part of data) parts.push(part)
            await tx.query(`COPY ${target} FROM '/dev/blob'`, [], { blob: new Blob(parts) })
          },
        }),
      ),
    transaction: (fn, config) =>
      connection.db.transaction((tx) => fn(tx as StratumTransaction), config),
    withMigrationLock: (fn) => migrationMutex.runExclusive(() => fn(sessionOf(pglite))),
    dumpDataDir: () => pglite.dumpDataDir('gzip'),
    // PGlite has no server-side statement cache to name; the name is for the server driver.
    queryPrepared: (_name, text, params) =>
      pglite.query<unknown[]>(text, params as unknown[], {
        rowMode: 'array',
        parsers: rawTextParsers,
      }),
    query: async <R>(text: string, params: readonly unknown[] = []) =>
      (await pglite.query<R>(text, [...params])).rows,
    poolStats: () => ({ total: 1, idle: 1, waiting: 0 }),
    async close() {
      if (owned && !pglite.closed) await pglite.close()
      await release?.()
      release = undefined
    },
  }
  const client = guardClient(pglite, connection, ['query', 'exec', 'sql', 'transaction'])
  ;(connection as { db: StratumDatabase }).db = drizzle({
    client,
    schema,
  }) as unknown as StratumDatabase
  return connection
}
