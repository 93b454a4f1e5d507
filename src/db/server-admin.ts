import pg from 'pg'

/** An SQL identifier, double-quoted (`"` doubled). @internal */
export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`
}

/** The same server URL pointing at another database. @internal */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url)
  parsed.pathname = `/${encodeURIComponent(database)}`
  return parsed.toString()
}

/** The database name of a Postgres URL. @internal */
export function databaseNameOf(url: string): string {
  return decodeURIComponent(new URL(url).pathname.replace(/^\//, '') || 'postgres')
}

/** Runs `fn` on one short-lived client of `url`, closed afterwards. @internal */
export async function withClient<T>(
  url: string,
  fn: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const client = new pg.Client({ connectionString: url })
  // A server that ends the connection mid-call emits 'error' on the client: handled, so
  // the call fails instead of the process.
  client.on('error', () => {})
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end().catch(() => {})
  }
}

/**
 * Runs `fn` on the server's `postgres` maintenance database, reached with the credentials
 * of `url`: where CREATE and DROP DATABASE run. @internal
 */
export function onMaintenanceDatabase<T>(
  url: string,
  fn: (client: pg.Client) => Promise<T>,
): Promise<T> {
  return withClient(withDatabase(url, 'postgres'), fn)
}
