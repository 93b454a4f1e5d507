import pg from 'pg'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { createDataLayer, type DataLayer } from '../../src/index.js'
import { createTestDataLayer, type TestDataLayer } from '../../src/testing/index.js'
import { backendTitle, embeddingFrom, pgbouncer, uniqueEmail } from '../helpers/backends.js'
import { failure } from '../helpers/failure.js'

/** The URL of `databaseUrl`'s database through PgBouncer. */
function viaPooler(databaseUrl: string): string {
  const pooled = new URL(inject('pgbouncerUrl'))
  pooled.pathname = new URL(databaseUrl).pathname
  return pooled.toString()
}

/** Client rows of PgBouncer's admin console for one database. */
async function poolerClients(database: string): Promise<{ application_name?: string }[]> {
  const console = new URL(inject('pgbouncerUrl'))
  console.pathname = '/pgbouncer'
  const client = new pg.Client({ connectionString: console.toString() })
  await client.connect()
  try {
    // No parameters: pg sends the simple query protocol, the only one the console speaks.
    const result = await client.query('SHOW CLIENTS')
    return (result.rows as { database: string; application_name?: string }[]).filter(
      (row) => row.database === database,
    )
  } finally {
    await client.end()
  }
}

/** 400 reads by key from 8 pooled connections at once, uncached: the prepared-statement path. */
async function concurrentReads(data: DataLayer, ids: string[]): Promise<unknown[]> {
  const outcomes = await Promise.allSettled(
    Array.from({ length: 400 }, (_, i) => data.users.findById(ids[i % ids.length]!)),
  )
  return outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason] : []))
}

/**
 * Reads `id` once (preparing the statement on that server session), then has another
 * client hold that session in an open transaction (PgBouncer gives out the most recently
 * used idle session), and reads again, which must run on another session.
 */
async function readWhileItsSessionIsTaken(
  data: DataLayer,
  id: string,
  database: string,
): Promise<string | undefined> {
  await data.users.findById(id)
  const other = new pg.Client({ connectionString: viaPooler(`postgres://x/${database}`) })
  await other.connect()
  try {
    await other.query('BEGIN')
    await other.query('SELECT 1')
    return (await data.users.findById(id))?.id
  } finally {
    await other.query('ROLLBACK').catch(() => {})
    await other.end()
  }
}

describe(`a transaction-mode pooler [${backendTitle(pgbouncer)}]`, () => {
  const layers: TestDataLayer[] = []
  const closers: DataLayer[] = []
  afterAll(async () => {
    for (const data of closers) await data.close()
    for (const t of layers) await t.destroy()
  })

  async function testLayer(): Promise<TestDataLayer> {
    const t = await createTestDataLayer({
      use: { database: 'server', cache: 'embedded', blobs: 'embedded' },
      database: { pool: { max: 8 } },
      poolerUrl: inject('pgbouncerUrl'),
    })
    layers.push(t)
    return t
  }

  it('runs reads by key unnamed with preparedStatements: false, and the named statements break without it', async () => {
    const t = await testLayer()
    const database = new URL(t.databaseUrl!).pathname.slice(1)
    const ids = await Promise.all(
      Array.from(
        { length: 8 },
        async () => (await t.data.users.create({ email: uniqueEmail() })).id,
      ),
    )
    expect(t.data.cache.kind).toBe('memory') // rows are not cached: every read is a query
    expect(await concurrentReads(t.data, ids)).toEqual([])
    // The traffic went through PgBouncer: its console lists this layer's connections.
    const clients = await poolerClients(database)
    expect(clients.length).toBeGreaterThan(0)
    expect(clients.some((c) => c.application_name === 'stratum-data')).toBe(true)

    // Unnamed, a read still works when the session it last ran on is taken by another client.
    expect(await readWhileItsSessionIsTaken(t.data, ids[0]!, database)).toEqual(ids[0])

    // With named statements, PgBouncer hands the next transaction to another server
    // session, where the statement this client prepared does not exist.
    const named = await createDataLayer({
      databaseUrl: viaPooler(t.databaseUrl!),
      database: { pool: { max: 1 } },
    })
    closers.push(named)
    const error = await failure(() => readWhileItsSessionIsTaken(named, ids[0]!, database))
    expect(error.code).toBe('DATABASE')
    expect(error.details).toMatchObject({ sqlState: '26000' })
  })

  it('refuses session work without directUrl, naming it, and runs it on directUrl', async () => {
    const t = await testLayer()
    const pooledOnly = await createDataLayer({
      databaseUrl: viaPooler(t.databaseUrl!),
      database: { preparedStatements: false },
    })
    closers.push(pooledOnly)
    const error = await failure(() => pooledOnly.migrate())
    expect(error.code).toBe('CONFIG')
    expect(error.message).toContain('directUrl')
    expect((await failure(() => pooledOnly.vectors.ensureIndex({ metric: 'l2' }))).code).toBe(
      'CONFIG',
    )

    // An empty database migrated from scratch on the direct URL, used through the pooler.
    const empty = await createTestDataLayer({
      use: { database: 'server', cache: 'embedded', blobs: 'embedded' },
      poolerUrl: inject('pgbouncerUrl'),
      migrate: false,
    })
    layers.push(empty)
    const result = await empty.data.migrate()
    expect(result.applied.length).toBeGreaterThan(0)
    await empty.data.vectors.ensureIndex({ metric: 'l2' })
    const user = await empty.data.users.create({ email: uniqueEmail() })
    const chat = await empty.data.chats.create({ userId: user.id, title: 't' })
    await empty.data.vectors.upsert([
      {
        userId: user.id,
        chatId: chat.id,
        content: 'hello pooler',
        embedding: embeddingFrom(1, 1536),
      },
    ])
    const hits = await empty.data.vectors.search({
      userId: user.id,
      embedding: embeddingFrom(1, 1536),
      metric: 'l2',
      limit: 1,
    })
    expect(hits[0]?.content).toBe('hello pooler')
  })

  it('rejects directUrl without databaseUrl and together with adminUrl', async () => {
    const url = inject('postgresUrl')
    expect((await failure(() => createDataLayer({ directUrl: url }))).code).toBe('CONFIG')
    const both = await failure(() =>
      createDataLayer({ databaseUrl: url, directUrl: url, adminUrl: url }),
    )
    expect(both.code).toBe('CONFIG')
    expect(both.message).toContain('adminUrl, directUrl')
  })
})
