import { readdir, rm } from 'node:fs/promises'
import { ListObjectsV2Command } from '@aws-sdk/client-s3'
import { Redis } from 'ioredis'
import pg from 'pg'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { onMaintenanceDatabase } from '../../src/db/server-admin.js'
import {
  createTestDataLayer,
  ensureTemplateDatabase,
  startTestServices,
  type TestDataLayer,
} from '../../src/testing/index.js'
import { PGLITE_TEMPLATE_DIR } from '../../src/testing/pglite-templates.js'
import { templateNameFor } from '../../src/testing/template-databases.js'
import { testS3Client } from '../helpers/s3.js'

const adminUrl = inject('postgresUrl')
const redis = new Redis(inject('redisUrl'))
const s3 = testS3Client()
afterAll(async () => {
  redis.disconnect()
  s3.destroy()
})

async function redisKeys(prefix: string): Promise<string[]> {
  const keys: string[] = []
  let cursor = '0'
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
    cursor = next
    keys.push(...batch)
  } while (cursor !== '0')
  return keys
}

async function s3Keys(prefix: string): Promise<string[]> {
  const out = await s3.send(
    new ListObjectsV2Command({ Bucket: inject('s3').bucket, Prefix: prefix }),
  )
  return (out.Contents ?? []).map((o) => o.Key!)
}

async function databaseExists(name: string): Promise<boolean> {
  return onMaintenanceDatabase(adminUrl, async (client) => {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])
    return rowCount === 1
  })
}

/** Writes one of everything (row, cached read, blob) through a test data layer. */
async function writeSome(t: TestDataLayer) {
  const message = await t.fixtures.message()
  const user = await t.data.users.findById((await t.data.chats.findById(message.chatId))!.userId)
  await t.data.users.findById(user!.id) // a cached read: leaves a key in Redis
  await t.data.blobs.put(`users/${user!.id}/avatar.txt`, 'hello')
  return { message, user: user! }
}

describe('createTestDataLayer on the test services (postgres, redis, s3 from the global setup)', () => {
  it('finds the services in the environment the global setup exported', async () => {
    const services = await startTestServices()
    try {
      expect(services.embedded).toEqual([])
      expect(services.postgres?.source).toBe('env')
      expect(services.redis?.source).toBe('env')
      expect(services.s3?.source).toBe('env')
    } finally {
      await services.stop()
    }
    // Stopping services found by URL leaves them running.
    const client = new pg.Client({ connectionString: adminUrl })
    await client.connect()
    await client.end()
  })

  it('gives each test data layer its own database, cache prefix and blob prefix', async () => {
    const a = await createTestDataLayer()
    const b = await createTestDataLayer()
    try {
      expect(a.description).toMatch(/^postgres \(template clone\), redis, s3 /)
      expect(a.databaseUrl).not.toBe(b.databaseUrl)
      expect(a.cachePrefix).not.toBe(b.cachePrefix)
      expect(a.blobPrefix).not.toBe(b.blobPrefix)

      const { user } = await writeSome(a)
      expect(await b.data.users.findById(user.id)).toBeNull()
      expect(await b.data.blobs.exists(`users/${user.id}/avatar.txt`)).toBe(false)
      const aKeys = (await redisKeys(a.cachePrefix)).sort()
      expect(aKeys.length).toBeGreaterThan(0)
      expect(await s3Keys(a.blobPrefix)).toEqual([`${a.blobPrefix}users/${user.id}/avatar.txt`])

      // b's reset touches nothing of a's.
      await b.reset()
      expect((await redisKeys(a.cachePrefix)).sort()).toEqual(aKeys)
      expect(await a.data.users.findById(user.id)).toEqual(user)
      expect(await a.data.blobs.exists(`users/${user.id}/avatar.txt`)).toBe(true)
    } finally {
      await Promise.all([a.destroy(), b.destroy()])
    }
  })

  it('reset() empties the tables, the cache keys and the blobs, and restarts the fixtures', async () => {
    const t = await createTestDataLayer({ seed: 11 })
    try {
      const first = await writeSome(t)
      await t.reset()
      expect(await t.data.users.count()).toBe(0)
      expect(await t.data.messages.count()).toBe(0)
      expect(await redisKeys(t.cachePrefix)).toEqual([])
      expect(await s3Keys(t.blobPrefix)).toEqual([])
      // Migrations stay recorded: nothing to apply.
      expect((await t.data.migrate()).applied).toEqual([])
      // The same seed from the start again: the same ids.
      const again = await writeSome(t)
      expect(again.user.id).toBe(first.user.id)
      expect(again.message.id).toBe(first.message.id)
    } finally {
      await t.destroy()
    }
  })

  it('destroy() removes the database, the cache keys and the blobs it made, and nothing else', async () => {
    const keep = await createTestDataLayer()
    const t = await createTestDataLayer()
    try {
      const kept = await writeSome(keep)
      await writeSome(t)
      const name = new URL(t.databaseUrl!).pathname.slice(1)
      expect(await databaseExists(name)).toBe(true)
      const reopened = await t.reopen()
      await t.destroy()
      await t.destroy() // again: nothing to do
      expect(await databaseExists(name)).toBe(false)
      expect(await redisKeys(t.cachePrefix)).toEqual([])
      expect(await s3Keys(t.blobPrefix)).toEqual([])
      await expect(reopened.users.count()).rejects.toMatchObject({ code: 'CLOSED' })
      expect(await keep.data.users.findById(kept.user.id)).toEqual(kept.user)
      expect(await s3Keys(keep.blobPrefix)).toHaveLength(1)
    } finally {
      await keep.destroy()
    }
  })

  it('an empty database with migrate: false, and a template per set of migrations', async () => {
    const empty = await createTestDataLayer({ migrate: false })
    const small = await createTestDataLayer({ embeddings: { dimensions: 384 } })
    try {
      expect((await empty.data.migrationStatus()).applied).toEqual([])
      expect(small.data.embeddingDimensions).toBe(384)
      const vector = await small.fixtures.vector()
      expect(vector.embedding).toHaveLength(384)
      const hits = await small.data.vectors.search({
        embedding: vector.embedding,
        userId: vector.userId,
        limit: 1,
      })
      expect(hits[0]?.id).toBe(vector.id)
    } finally {
      await Promise.all([empty.destroy(), small.destroy()])
    }
  })
})

describe('template databases', () => {
  it('are made once when several callers race, and again after a crash left one half-made', async () => {
    // A set of migrations no other test uses, so the template is new here.
    const options = {
      embeddings: { dimensions: 3 + Math.floor(Math.random() * 500) },
    }
    const name = templateNameFor(options)
    try {
      const names = await Promise.all(
        Array.from({ length: 4 }, () => ensureTemplateDatabase(adminUrl, options)),
      )
      expect(new Set(names)).toEqual(new Set([name]))
      const template = await onMaintenanceDatabase(adminUrl, async (client) => {
        const { rows } = await client.query(
          'SELECT datistemplate, datallowconn FROM pg_database WHERE datname = $1',
          [name],
        )
        return rows[0]
      })
      expect(template).toEqual({ datistemplate: true, datallowconn: false })

      // A half-made one (not marked as a template) is dropped and made again.
      await onMaintenanceDatabase(adminUrl, async (client) => {
        await client.query(`ALTER DATABASE ${name} WITH is_template false allow_connections true`)
      })
      await ensureTemplateDatabase(adminUrl, options)
      const t = await createTestDataLayer(options)
      try {
        expect((await t.data.migrationStatus()).pending).toEqual([])
      } finally {
        await t.destroy()
      }
    } finally {
      await onMaintenanceDatabase(adminUrl, async (client) => {
        await client.query(`ALTER DATABASE ${name} WITH is_template false`).catch(() => {})
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      })
    }
  })
})

describe('createTestDataLayer without services', () => {
  it('runs on the embedded defaults and removes its blob directory', async () => {
    const t = await createTestDataLayer({ env: {} })
    const { user } = await writeSome(t)
    expect(t.description).toBe('pglite (embedded), memory cache, fs blobs (temp dir)')
    expect(t.databaseUrl).toBeUndefined()
    expect(t.data.backend).toBe('pglite')
    expect(await t.data.blobs.exists(`users/${user.id}/avatar.txt`)).toBe(true)
    expect(t.data.blobs.kind).toBe('fs')
    await expect(t.reopen()).rejects.toThrow(/one instance/)
    await t.destroy()
  })

  it('starts PGlite from a migrated dump kept on disk, one per set of migrations', async () => {
    const dimensions = 3 + Math.floor(Math.random() * 500)
    const before = new Set(await readdir(PGLITE_TEMPLATE_DIR).catch(() => []))
    const first = await createTestDataLayer({ env: {}, embeddings: { dimensions } })
    const made = (await readdir(PGLITE_TEMPLATE_DIR)).filter((f) => !before.has(f))
    expect(made).toHaveLength(1)
    const second = await createTestDataLayer({ env: {}, embeddings: { dimensions } })
    try {
      expect(await readdir(PGLITE_TEMPLATE_DIR)).toHaveLength(before.size + 1)
      for (const t of [first, second]) {
        expect(t.data.embeddingDimensions).toBe(dimensions)
        expect((await t.data.migrationStatus()).pending).toEqual([])
        expect((await t.data.migrate()).applied).toEqual([])
      }
      // Separate instances: a row in one is not in the other.
      await first.fixtures.user()
      expect(await second.data.users.count()).toBe(0)
    } finally {
      await Promise.all([first.destroy(), second.destroy()])
      await rm(`${PGLITE_TEMPLATE_DIR}/${made[0]}`, { force: true })
    }
  })

  it("refuses use: 'server' when the service's URL is not set, naming it", async () => {
    await expect(createTestDataLayer({ env: {}, use: { database: 'server' } })).rejects.toThrow(
      /TEST_DATABASE_URL is not set/,
    )
  })
})

describe('fixtures', () => {
  it('are deterministic under a seed, valid, and of the configured dimension', async () => {
    const [a, b, c] = await Promise.all([
      createTestDataLayer({ env: {}, seed: 7, embeddings: { dimensions: 16 } }),
      createTestDataLayer({ env: {}, seed: 7, embeddings: { dimensions: 16 } }),
      createTestDataLayer({ env: {}, seed: 8, embeddings: { dimensions: 16 } }),
    ])
    try {
      const make = async (t: TestDataLayer) => {
        const user = await t.fixtures.user({ firstName: 'Ada' })
        const chat = await t.fixtures.chat({ userId: user.id })
        const message = await t.fixtures.message({ chatId: chat.id })
        const vector = await t.fixtures.vector({ messageId: message.id })
        const orphan = await t.fixtures.vector()
        return { user, chat, message, vector, orphan }
      }
      const [fromA, fromB, fromC] = [await make(a), await make(b), await make(c)]
      const stable = (x: Awaited<ReturnType<typeof make>>) => ({
        ids: [x.user.id, x.chat.id, x.message.id, x.vector.id, x.orphan.id],
        email: x.user.email,
        texts: [x.chat.title, x.message.content, x.vector.content],
        embedding: x.vector.embedding,
      })
      expect(stable(fromA)).toEqual(stable(fromB))
      expect(stable(fromA).ids).not.toEqual(stable(fromC).ids)
      expect(stable(fromA).embedding).not.toEqual(stable(fromC).embedding)
      expect(fromA.user.firstName).toBe('Ada')
      expect(fromA.vector).toMatchObject({
        userId: fromA.user.id,
        chatId: fromA.chat.id,
        messageId: fromA.message.id,
        content: fromA.message.content,
      })
      const norm = Math.hypot(...(fromA.vector.embedding as number[]))
      expect(fromA.vector.embedding).toHaveLength(16)
      expect(norm).toBeCloseTo(1, 6)
      // Stored, and found by their own embedding.
      const [hit] = await a.data.vectors.search({
        embedding: fromA.vector.embedding as number[],
        userId: fromA.user.id,
        limit: 1,
      })
      expect(hit?.id).toBe(fromA.vector.id)
      expect(await a.data.users.count()).toBe(2)
    } finally {
      await Promise.all([a.destroy(), b.destroy(), c.destroy()])
    }
  })

  it('a fixture whose overrides are invalid fails with the validation error', async () => {
    const t = await createTestDataLayer({ env: {} })
    try {
      await expect(t.fixtures.user({ email: 'not an email' })).rejects.toMatchObject({
        code: 'VALIDATION',
      })
      expect(await t.data.users.count()).toBe(0)
    } finally {
      await t.destroy()
    }
  })
})
