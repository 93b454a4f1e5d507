import { sql } from 'drizzle-orm'
import pg from 'pg'
import { describe, expect, inject, it } from 'vitest'
import { createDataLayer } from '../../src/index.js'
import {
  cloneDatabase,
  dropDatabase,
  templateNameFor,
} from '../../src/testing/template-databases.js'
import { backends, backendTitle, databaseUrlOf, uniqueEmail } from '../helpers/backends.js'

// Behaviour only a server has: timeouts, dying connections, a database going away.
const server = backends.find((b) => b.name === 'postgres')!

describe(`server connections [${backendTitle(server)}]`, () => {
  it('cancels a statement past statementTimeoutMs with TIMEOUT', async () => {
    const base = await server.open()
    const data = await createDataLayer({
      databaseUrl: databaseUrlOf(base),
      database: { pool: { statementTimeoutMs: 200, applicationName: 'stratum-timeout-test' } },
    })
    try {
      // Raw Drizzle calls are not mapped: the driver's SQLSTATE is on the cause.
      await expect(data.db.execute(sql`select pg_sleep(2)`)).rejects.toMatchObject({
        cause: { code: '57014' },
      })
      await expect(
        data.transaction((tx) => tx.db.execute(sql`select pg_sleep(2)`)),
      ).rejects.toMatchObject({
        code: 'TIMEOUT',
      })
      const name = await data.db.execute<{ name: string }>(
        sql`select current_setting('application_name') as name`,
      )
      expect(name.rows[0]!.name).toBe('stratum-timeout-test')
    } finally {
      await data.close()
    }
  })

  it('survives pooled connections killed by the server, without crashing the process', async () => {
    const data = await server.open({ database: { pool: { max: 4 } } })
    const user = await data.users.create({ email: uniqueEmail() })
    await Promise.all([1, 2, 3, 4].map(() => data.users.findById(user.id)))
    const admin = new pg.Client({ connectionString: databaseUrlOf(data) })
    await admin.connect()
    try {
      await admin.query(
        `select pg_terminate_backend(pid) from pg_stat_activity
          where datname = current_database() and pid <> pg_backend_pid()`,
      )
    } finally {
      await admin.end()
    }
    await new Promise((r) => setTimeout(r, 100))
    // The dead idle connections were dropped; new ones serve the next calls.
    expect(await data.users.findById(user.id)).toMatchObject({ id: user.id })
    expect((await data.health()).status).toBe('ok')
  })

  it('reports the database down, without throwing, once it is gone', async () => {
    const adminUrl = inject('postgresUrl')
    const { url, name } = await cloneDatabase(
      adminUrl,
      templateNameFor({ embeddings: { dimensions: 1536 } }),
    )
    const data = await createDataLayer({
      databaseUrl: url,
      database: { pool: { connectionTimeoutMs: 2000 } },
    })
    try {
      expect((await data.health()).status).toBe('ok')
      await dropDatabase(adminUrl, name)
      const report = await data.health()
      expect(report.status).toBe('down')
      expect(report.parts.database.status).toBe('down')
      expect(report.parts.database.error?.code).toBe('UNAVAILABLE')
      await expect(data.users.findByEmail('a@b.co')).rejects.toMatchObject({ code: 'UNAVAILABLE' })
    } finally {
      await data.close()
    }
  })
})
