import { sql } from 'drizzle-orm'
import { bigint, integer, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import type { DataLayer } from '../../src/index.js'
import { users } from '../../src/schema/index.js'
import { backendsWithPooler as backends, backendTitle, uniqueEmail } from '../helpers/backends.js'

/** A table an application adds next to the core schema. */
const notes = pgTable('test_notes', {
  id: uuid('id').primaryKey().defaultRandom(),
  userId: uuid('user_id')
    .notNull()
    .references(() => users.id, { onDelete: 'cascade' }),
  slug: text('slug').notNull().unique(),
  body: text('body').notNull(),
  views: bigint('views', { mode: 'bigint' }).notNull().default(0n),
  rank: integer('rank'),
  tags: jsonb('tags').$type<string[]>().notNull().default([]),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
})

const noKey = pgTable('test_no_key', { body: text('body') })

for (const backend of backends) {
  describe(`Repository over an application table [${backendTitle(backend)}]`, () => {
    let data: DataLayer
    let userId: string
    beforeAll(async () => {
      data = await backend.open()
      await data.db.execute(sql`create table test_notes (
        id uuid primary key default gen_random_uuid(),
        user_id uuid not null references users(id) on delete cascade,
        slug text not null unique,
        body text not null,
        views bigint not null default 0,
        rank integer,
        tags jsonb not null default '[]',
        created_at timestamptz not null default now())`)
      userId = (await data.users.create({ email: uniqueEmail() })).id
    })

    it('creates, reads, filters and counts with the derived schemas', async () => {
      const repo = data.repository(notes)
      expect(data.repository(notes)).toBe(repo)
      const note = await repo.create({
        userId,
        slug: 'first',
        body: 'hello',
        views: 2n ** 60n,
        tags: ['a'],
      })
      expect(note.views).toBe(2n ** 60n)
      expect(note.tags).toEqual(['a'])
      expect(await repo.getById(note.id)).toEqual(note)
      await repo.createMany(
        Array.from({ length: 20 }, (_, i) => ({
          userId,
          slug: `n${i}`,
          body: `b${i}`,
          rank: i % 4 === 0 ? null : i,
        })),
        { batchSize: 6 },
      )
      expect(await repo.count({ userId })).toBe(21)
      expect(await repo.count({ rank: null })).toBe(6)
      expect(await repo.count({ rank: { gte: 10, lt: 15 } })).toBe(4)
      expect(await repo.count({ slug: { in: ['n1', 'n2', 'missing'] } })).toBe(2)
      expect(await repo.exists({ slug: 'n19' })).toBe(true)
      const top = await repo.findMany({
        where: { rank: { isNull: false } },
        orderBy: { rank: 'desc' },
        limit: 3,
      })
      expect(top.map((n) => n.rank)).toEqual([19, 18, 17])
      await expect(
        repo.findMany({ where: { rank: { between: 1 } } as never }),
      ).rejects.toMatchObject({
        code: 'VALIDATION',
      })
    })

    it('upserts on a unique column other than the key', async () => {
      const repo = data.repository(notes)
      const a = await repo.upsert({ userId, slug: 'up', body: 'one' }, { target: ['slug'] })
      const b = await repo.upsert({ userId, slug: 'up', body: 'two' }, { target: ['slug'] })
      expect(b.id).toBe(a.id)
      expect(b.body).toBe('two')
      await expect(repo.create({ userId, slug: 'up', body: 'dup' })).rejects.toMatchObject({
        code: 'CONFLICT',
      })
    })

    it('takes custom schemas, and refuses a table without a primary key', async () => {
      const strict = data.repository(notes, {
        insert: z
          .object({ userId: z.uuid(), slug: z.string().regex(/^[a-z]+$/), body: z.string().min(1) })
          .strict(),
      })
      await expect(strict.create({ userId, slug: 'Bad Slug', body: 'x' })).rejects.toMatchObject({
        code: 'VALIDATION',
      })
      expect((await strict.create({ userId, slug: 'good', body: 'x' })).slug).toBe('good')
      expect(() => data.repository(noKey as never)).toThrow(/primary key/)
    })

    it('caches an application table only when it is listed, and never serves a stale row', async () => {
      const repo = data.repository(notes)
      const note = await repo.create({ userId, slug: `cached-${backend.name}`, body: 'v1' })
      const before = data.cache.stats()
      await repo.findById(note.id)
      await repo.findById(note.id)
      expect(data.cache.stats().hits).toBe(before.hits) // not listed: not cached

      // Listed (and, on a server with the memory cache, turned on explicitly).
      const listed = await backend.open({
        cache: { entities: { enabled: true, tables: { test_notes: { ttlMs: 60_000 } } } },
      })
      await listed.db.execute(sql`create table test_notes (
        id uuid primary key default gen_random_uuid(), user_id uuid not null, slug text not null unique,
        body text not null, views bigint not null default 0, rank integer, tags jsonb not null default '[]',
        created_at timestamptz not null default now())`)
      const listedRepo = listed.repository(notes)
      const row = await listedRepo.create({ userId, slug: 's', body: 'v1' })
      await listedRepo.findById(row.id)
      const hits = listed.cache.stats().hits
      expect(await listedRepo.findById(row.id)).toEqual(row)
      expect(listed.cache.stats().hits).toBe(hits + 1)
      await listedRepo.update(row.id, { body: 'v2' })
      expect((await listedRepo.findById(row.id))?.body).toBe('v2')
      await listedRepo.delete(row.id)
      expect(await listedRepo.findById(row.id)).toBeNull()
    })

    it('works inside a transaction and rolls back with it', async () => {
      await expect(
        data.transaction(async (tx) => {
          await tx.repository(notes).create({ userId, slug: 'tx-only', body: 'x' })
          throw new Error('undo')
        }),
      ).rejects.toThrow('undo')
      expect(await data.repository(notes).exists({ slug: 'tx-only' })).toBe(false)
    })
  })
}
