import type { DatabaseConnection } from './connection.js'

/** The part of a connection that schema changes, index builds and backups use. @internal */
export type AdminConnection = Pick<
  DatabaseConnection,
  'kind' | 'query' | 'withMigrationLock' | 'withReadTransaction' | 'dumpDataDir'
> & {
  /** The URL pg_dump and pg_restore connect with, when the backend is a server. */
  readonly url: string | undefined
  close(): Promise<void>
}

/**
 * The connection for DDL: `main` itself, or, when an admin URL is configured (the app
 * then connects as a role without DDL rights), a small pool of its own opened on first
 * use and closed with the data layer.
 * @internal
 */
export function adminConnection(
  main: DatabaseConnection,
  mainUrl: string | undefined,
  admin?: { url: string; open: () => Promise<DatabaseConnection> },
): AdminConnection {
  if (!admin) {
    return {
      kind: main.kind,
      url: mainUrl,
      query: (text, params) => main.query(text, params),
      withMigrationLock: (fn) => main.withMigrationLock(fn),
      withReadTransaction: (prelude, fn) => main.withReadTransaction(prelude, fn),
      ...(main.dumpDataDir ? { dumpDataDir: () => main.dumpDataDir!() } : {}),
      close: async () => {},
    }
  }
  let opened: Promise<DatabaseConnection> | undefined
  const get = () => {
    opened ??= admin.open()
    opened.catch(() => {
      opened = undefined
    })
    return opened
  }
  return {
    kind: main.kind,
    url: admin.url,
    query: async (text, params) => (await get()).query(text, params),
    withMigrationLock: async (fn) => (await get()).withMigrationLock(fn),
    withReadTransaction: async (prelude, fn) => (await get()).withReadTransaction(prelude, fn),
    async close() {
      const connection = await opened?.catch(() => undefined)
      await connection?.close()
    },
  }
}
