import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createDataLayer, type DataLayer } from '../../src/index.js'
import { createEmptyDatabase, dropDatabase } from '../../src/testing/template-databases.js'
import { embeddingFrom, uniqueEmail } from '../helpers/backends.js'

const DIMENSIONS = 384

async function asRole(url: string, text: string) {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await client.query(text)
  } finally {
    await client.end()
  }
}

async function refused(url: string, text: string): Promise<string | undefined> {
  return asRole(url, text).then(
    () => undefined,
    (error: { code?: string }) => error.code,
  )
}

describe(`least-privilege roles (${inject('postgresDescription')})`, () => {
  const adminServerUrl = inject('postgresUrl')
  const suffix = randomUUID().replace(/-/g, '').slice(0, 8)
  const appRole = `app_${suffix}`
  const readonlyRole = `ro_${suffix}`
  const appPassword = `app-pass-${suffix}`
  let database: { url: string; name: string }
  let admin: DataLayer
  const urlAs = (user: string, password: string) => {
    const url = new URL(database.url)
    url.username = user
    url.password = password
    return url.toString()
  }
  beforeAll(async () => {
    database = await createEmptyDatabase(adminServerUrl)
    admin = await createDataLayer({
      databaseUrl: database.url,
      embeddings: { dimensions: DIMENSIONS },
    })
  })
  afterAll(async () => {
    await admin.close()
    await dropDatabase(adminServerUrl, database.name)
    for (const role of [appRole, readonlyRole])
      await asRole(adminServerUrl, `DROP ROLE IF EXISTS ${role}`)
  })

  it('plans without applying, with passwords masked', async () => {
    const plan = await admin.roles({
      app: { name: appRole, password: appPassword },
      readonly: { name: readonlyRole },
    })
    expect(plan.applied).toBe(false)
    expect(plan.statements.join('\n')).toContain(`PASSWORD '***'`)
    expect(plan.statements.join('\n')).not.toContain(appPassword)
    expect(await refused(urlAs(appRole, appPassword), 'SELECT 1')).toBeDefined() // no such role yet
  })

  it('lets the app role (with an admin URL for DDL) migrate, read and write, but never change the schema', async () => {
    const roles = {
      app: { name: appRole, password: appPassword },
      readonly: { name: readonlyRole, password: `ro-pass-${suffix}` },
    }
    await admin.roles({ ...roles, apply: true })
    await admin.roles({ ...roles, apply: true }) // idempotent
    const appUrl = urlAs(appRole, appPassword)
    const app = await createDataLayer({
      databaseUrl: appUrl,
      adminUrl: database.url,
      embeddings: { dimensions: DIMENSIONS },
    })
    try {
      // Tables created after the roles (by the admin connection) are usable by the app
      // role through default privileges.
      expect((await app.migrate()).applied.length).toBeGreaterThanOrEqual(3)
      const user = await app.users.create({ email: uniqueEmail('role') })
      const chat = await app.chats.create({ userId: user.id, title: 'as app' })
      await app.vectors.upsert([
        { userId: user.id, chatId: chat.id, content: 'x', embedding: embeddingFrom(1, DIMENSIONS) },
      ])
      expect(await app.users.findById(user.id)).toMatchObject({ id: user.id })
      await app.vectors.ensureIndex({ metric: 'cosine' }) // DDL through the admin URL
      await admin.roles({ ...roles, apply: true }) // after migrations: locks the migrations table

      expect(await refused(appUrl, 'CREATE TABLE intruder (id int)')).toBe('42501')
      expect(await refused(appUrl, 'DROP TABLE users')).toBe('42501')
      expect(await refused(appUrl, 'ALTER TABLE users ADD COLUMN x int')).toBe('42501')
      expect(await refused(appUrl, 'CREATE INDEX ON users (email)')).toBe('42501')
      expect(await refused(appUrl, `DELETE FROM stratum_migrations`)).toBe('42501')
      expect(await refused(appUrl, 'SELECT count(*) FROM stratum_migrations')).toBeUndefined()

      const readonlyUrl = urlAs(readonlyRole, `ro-pass-${suffix}`)
      expect((await asRole(readonlyUrl, 'SELECT count(*) AS n FROM users')).rows[0].n).toBe('1')
      expect(
        await refused(readonlyUrl, `INSERT INTO users (email) VALUES ('ro@example.com')`),
      ).toBe('42501')
      expect(await refused(readonlyUrl, 'DROP TABLE chats')).toBe('42501')
    } finally {
      await app.close()
    }
  })

  it('rejects unsafe role names and short passwords before touching the server', async () => {
    await expect(
      admin.roles({ app: { name: 'x; DROP ROLE postgres' }, apply: true }),
    ).rejects.toMatchObject({
      code: 'VALIDATION',
    })
    await expect(
      admin.roles({ app: { name: 'fine_name', password: 'short' } }),
    ).rejects.toMatchObject({
      code: 'VALIDATION',
    })
  })
})

describe('roles on PGlite', () => {
  it('is UNSUPPORTED', async () => {
    const data = await createDataLayer({ embeddings: { dimensions: 8 } })
    await expect(data.roles()).rejects.toMatchObject({ code: 'UNSUPPORTED' })
    await data.close()
  })
})
