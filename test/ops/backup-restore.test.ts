import { createHash, randomUUID } from 'node:crypto'
import { existsSync, readdirSync } from 'node:fs'
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createDataLayer, type DataLayer } from '../../src/index.js'
import { applyRetention } from '../../src/ops/backup.js'
import { uniquePrefix } from '../../src/testing/contracts/index.js'
import {
  type Backend,
  backends,
  backendTitle,
  databaseUrlOf,
  embeddingFrom,
  partitionedBackends,
} from '../helpers/backends.js'
import { testS3Options } from '../helpers/s3.js'

const DIMENSIONS = 384

/** md5 of every row of every table (ordered by the row's text), per table. */
async function checksums(query: (sql: string) => Promise<Record<string, unknown>[]>) {
  const tables = await query(
    `SELECT n.nspname AS schema, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r','p') AND NOT c.relispartition AND n.nspname NOT IN ('pg_catalog','information_schema')
        AND n.nspname NOT LIKE 'pg\\_%' ORDER BY 1, 2`,
  )
  const out: Record<string, string> = {}
  for (const { schema, name } of tables as { schema: string; name: string }[]) {
    const [row] = await query(
      `SELECT count(*)::text || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') AS sum FROM "${schema}"."${name}" t`,
    )
    out[`${schema}.${name}`] = String(row!.sum)
  }
  return out
}

async function serverChecksums(url: string) {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await checksums(async (sql) => (await client.query(sql)).rows)
  } finally {
    await client.end()
  }
}

async function seed(data: DataLayer) {
  for (let u = 0; u < 5; u++) {
    const user = await data.users.create({
      email: `backup-${u}-${randomUUID()}@example.com`,
      firstName: `U${u}`,
    })
    const chat = await data.chats.create({ userId: user.id, title: `chat ${u} "quoted" ünïcode` })
    const messages = await data.messages.appendMany(
      Array.from(
        { length: 20 },
        (_, i) =>
          ({
            chatId: chat.id,
            role: i % 2 ? 'assistant' : 'user',
            content: `m${i} of ${u}\n\ttabs`,
          }) as const,
      ),
    )
    await data.vectors.upsert(
      messages.map((m, i) => ({
        userId: user.id,
        chatId: chat.id,
        messageId: m.id,
        content: m.content,
        embedding: embeddingFrom(u * 100 + i, DIMENSIONS),
        metadata: { i, nested: { u } },
      })),
    )
  }
}

const adminUrl = () => inject('postgresUrl')
const newDatabaseUrl = () => {
  const url = new URL(adminUrl())
  url.pathname = `/restore_${randomUUID().replace(/-/g, '').slice(0, 12)}`
  return url.toString()
}

async function dropDatabase(url: string) {
  const admin = new pg.Client({ connectionString: adminUrl() })
  await admin.connect()
  await admin.query(`DROP DATABASE IF EXISTS "${new URL(url).pathname.slice(1)}" WITH (FORCE)`)
  await admin.end()
}

async function databaseExists(url: string) {
  const admin = new pg.Client({ connectionString: adminUrl() })
  await admin.connect()
  const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [
    new URL(url).pathname.slice(1),
  ])
  await admin.end()
  return rowCount === 1
}

// The server also with chat_vectors partitioned: pg_dump and pg_restore carry the layout.
for (const backend of [...backends, partitionedBackends.find((b) => b.server)!]) {
  describe(`backup and restore [${backendTitle(backend)}]`, () => {
    let data: DataLayer
    let workDir: string
    const restoredUrls: string[] = []
    const options = (b: Backend) =>
      b.name === 'postgres'
        ? { s3: testS3Options(), blobs: { prefix: uniquePrefix() } } // server backups stream to S3
        : { blobs: { dir: join(workDir, 'blobs') } }
    beforeAll(async () => {
      workDir = await mkdtemp(join(tmpdir(), 'stratum-backup-'))
      data = await backend.open({
        embeddings: { dimensions: DIMENSIONS },
        ...options(backend),
        backups: { keep: 3 },
      })
      await seed(data)
    }, 120_000)
    afterAll(async () => {
      await Promise.all(restoredUrls.map(dropDatabase))
      await rm(workDir, { recursive: true, force: true })
    })

    it('restores into a new database with identical row counts and per-table checksums', async () => {
      const progress: number[] = []
      const info = await data.backup({ onProgress: (p) => progress.push(p.bytes) })
      expect(info.sizeBytes).toBeGreaterThan(0)
      expect(progress.at(-1)).toBe(info.sizeBytes)
      expect(info.sha256).toBe(
        createHash('sha256')
          .update(await data.blobs.get(info.key))
          .digest('hex'),
      )
      expect(info.tables['public.chat_vectors']).toBe(100)
      expect(info.tables['public.chat_messages']).toBe(100)
      expect(info.migrationHead).toMatch(/^core\//)
      expect((await data.backups()).map((b) => b.key)).toContain(info.key)

      if (backend.name === 'postgres') {
        const into = newDatabaseUrl()
        restoredUrls.push(into)
        const result = await data.restore(info.key, { into })
        expect(result.created).toBe(true)
        expect(result.into).not.toContain(new URL(adminUrl()).password || '\u0000')
        expect(result.tables).toEqual(info.tables)
        expect(await serverChecksums(into)).toEqual(await serverChecksums(databaseUrlOf(data)))
        // The restored database is a working data layer.
        const restored = await createDataLayer({
          databaseUrl: into,
          embeddings: { dimensions: DIMENSIONS },
        })
        expect((await restored.migrationStatus()).pending).toEqual([])
        const { rows: layout } = await restored.db.execute<{ n: number }>(
          `select count(*)::int as n from pg_inherits where inhparent = 'chat_vectors'::regclass`,
        )
        expect(layout[0]!.n).toBe(backend.partitions ?? 0)
        await restored.close()
      } else {
        const into = join(workDir, 'restored-pglite')
        const result = await data.restore(info.key, { into })
        expect(result.tables).toEqual(info.tables)
        const restored = await createDataLayer({
          database: { dir: into },
          embeddings: { dimensions: DIMENSIONS },
        })
        const sql = async (text: string) =>
          (await restored.db.execute(text)).rows as Record<string, unknown>[]
        const original = async (text: string) =>
          (await data.db.execute(text)).rows as Record<string, unknown>[]
        expect(await checksums(sql)).toEqual(await checksums(original))
        await restored.close()
      }
    })

    it('refuses to restore into a database or directory that is not empty (CONFLICT)', async () => {
      const [latest] = await data.backups()
      const into =
        backend.name === 'postgres' ? databaseUrlOf(data) : join(workDir, 'restored-pglite')
      await expect(data.restore(latest!.key, { into })).rejects.toMatchObject({ code: 'CONFLICT' })
    })

    it('refuses a target of the other kind (UNSUPPORTED), creating nothing and printing no password', async () => {
      const latest = await data.backup()
      const secret = 'pw-never-printed'
      const into =
        backend.name === 'postgres'
          ? join(workDir, 'not-a-database')
          : `postgres://admin:${secret}@127.0.0.1:1/restored`
      const error = await data.restore(latest!.key, { into }).catch((e: unknown) => e)
      expect(error).toMatchObject({ code: 'UNSUPPORTED' })
      expect((error as Error).message).not.toContain(secret)
      expect(existsSync(into)).toBe(false)
      expect(readdirSync('.').filter((name) => name.includes(secret))).toEqual([])
    })

    it('rejects a backup whose bytes changed (INTEGRITY) and leaves nothing behind', async () => {
      const info = await data.backup()
      const bytes = await data.blobs.get(info.key)
      bytes[Math.floor(bytes.length / 2)]! ^= 0xff
      await data.blobs.put(info.key, bytes)
      const into =
        backend.name === 'postgres' ? newDatabaseUrl() : join(workDir, `tampered-${randomUUID()}`)
      await expect(data.restore(info.key, { into })).rejects.toMatchObject({ code: 'INTEGRITY' })
      if (backend.name === 'postgres') expect(await databaseExists(into)).toBe(false)
      await data.blobs.delete(info.manifestKey)
    })

    it('keeps exactly backups.keep backups, newest first', async () => {
      const taken: string[] = []
      for (let i = 0; i < 5; i++) taken.push((await data.backup()).key)
      const kept = await data.backups()
      expect(kept.map((b) => b.key)).toEqual(taken.slice(-3).reverse())
      for (const removed of taken.slice(0, 2)) expect(await data.blobs.exists(removed)).toBe(false)
    })
  })
}

describe('backup retention by age and abandoned dumps', () => {
  it('deletes backups past maxAgeDays but never the newest one', async () => {
    const postgres = backends.find((b) => b.name === 'postgres')!
    const data = await postgres.open({
      embeddings: { dimensions: DIMENSIONS },
      blobs: { dir: await mkdtemp(join(tmpdir(), 'stratum-age-')) },
    })
    for (let i = 0; i < 3; i++) await data.backup()
    await data.blobs.put(
      'backups/2020-01-01T00-00-00-000Z-dead.dump',
      'abandoned dump, no manifest',
    )
    expect(await data.backups()).toHaveLength(3)
    const nineDaysLater = new Date(Date.now() + 9 * 86_400_000)
    const removed = await applyRetention(
      data.blobs,
      { prefix: 'backups/', keep: 30, maxAgeDays: 7 },
      nineDaysLater,
    )
    expect(removed).toHaveLength(3) // two old backups and the abandoned dump
    expect(await data.backups()).toHaveLength(1)
  })
})

describe('backup tools', () => {
  it('fails with CONFIG when no pg_dump fits, and leaves no dump when pg_dump fails midway', async () => {
    const backend = backends.find((b) => b.name === 'postgres')!
    const bin = await mkdtemp(join(tmpdir(), 'stratum-fake-pg-'))
    const blobDir = await mkdtemp(join(tmpdir(), 'stratum-fake-blobs-'))
    const missing = await backend.open({
      blobs: { dir: blobDir },
      backups: { pgBinDir: join(bin, 'nothing-here') },
    })
    await expect(missing.backup()).rejects.toMatchObject({
      code: 'CONFIG',
      message: expect.stringContaining('pg_dump'),
    })

    // A pg_dump that writes some bytes, then dies.
    await writeFile(
      join(bin, 'pg_dump'),
      '#!/bin/sh\nif [ "$1" = "--version" ]; then echo "pg_dump (PostgreSQL) 99.0"; exit 0; fi\nhead -c 200000 /dev/urandom\necho "pg_dump: error: connection lost" >&2\nexit 1\n',
    )
    await chmod(join(bin, 'pg_dump'), 0o755)
    const broken = await backend.open({ blobs: { dir: blobDir }, backups: { pgBinDir: bin } })
    await expect(broken.backup()).rejects.toMatchObject({
      code: 'DATABASE',
      message: expect.stringContaining('connection lost'),
    })
    const left: string[] = []
    for await (const item of broken.blobs.listAll({ prefix: 'backups/' })) left.push(item.key)
    expect(left).toEqual([])
    await rm(bin, { recursive: true, force: true })
    await rm(blobDir, { recursive: true, force: true })
  })
})
