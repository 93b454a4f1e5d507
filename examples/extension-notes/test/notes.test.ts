import { sql } from 'drizzle-orm'
import { createTestDataLayer, type TestDataLayer } from 'stratum-data/testing'
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest'
import { type NotesRepository, notes } from '../src/index.js'

type NotesLayer = TestDataLayer<{ readonly notes: NotesRepository }>

const backends = [
  { name: 'pglite', database: 'embedded', available: true },
  { name: 'postgres', database: 'server', available: !!process.env.TEST_DATABASE_URL },
] as const

for (const backend of backends) {
  describe.runIf(backend.available)(`notes extension on ${backend.name}`, () => {
    let t: NotesLayer
    beforeAll(async () => {
      t = await createTestDataLayer({
        extensions: [notes()],
        use: { database: backend.database },
      })
    })
    afterAll(() => t?.destroy())

    it('is typed as data.ext.notes', () => {
      expectTypeOf(t.data.ext.notes).toEqualTypeOf<NotesRepository>()
      expect(Object.keys(t.data.ext)).toEqual(['notes'])
    })

    it('creates, reads (through the cache), pages, updates and deletes notes', async () => {
      const chat = await t.fixtures.chat()
      const repo = t.data.ext.notes
      const created = []
      for (let i = 0; i < 5; i++)
        created.push(
          await repo.create({ userId: chat.userId, chatId: chat.id, title: `Note ${i}` }),
        )
      const first = created[0]!
      expect(first).toMatchObject({ title: 'Note 0', body: '', pinned: false, chatId: chat.id })
      expect(first.createdAt).toBeInstanceOf(Date)

      const before = t.data.cache.stats().hits
      expect(await repo.findById(first.id)).toEqual(first)
      expect(await repo.findById(first.id)).toEqual(first)
      expect(t.data.cache.stats().hits).toBeGreaterThan(before)

      // A write is seen by the next read, never the cached copy.
      const pinned = await repo.pin(first.id)
      expect(pinned.pinned).toBe(true)
      expect(await repo.findById(first.id)).toEqual(pinned)

      const page1 = await repo.listByUser(chat.userId, { limit: 3 })
      expect(page1.items.map((n) => n.title)).toEqual(['Note 0', 'Note 4', 'Note 3'])
      const page2 = await repo.listByUser(chat.userId, { limit: 3, cursor: page1.nextCursor })
      expect(page2.items.map((n) => n.title)).toEqual(['Note 2', 'Note 1'])
      expect(page2.nextCursor).toBeNull()

      expect(await repo.delete(first.id)).toBe(true)
      expect(await repo.findById(first.id)).toBeNull()
      expect(await repo.delete(first.id)).toBe(false)
    })

    it('rejects bad input with typed errors and writes nothing', async () => {
      const user = await t.fixtures.user()
      const repo = t.data.ext.notes
      await expect(repo.create({ userId: user.id, title: '   ' })).rejects.toMatchObject({
        code: 'VALIDATION',
      })
      await expect(
        repo.create({ userId: user.id, title: 'x', body: 'y'.repeat(20_001) }),
      ).rejects.toMatchObject({ code: 'VALIDATION' })
      await expect(
        repo.create({ userId: user.id, title: 'x', id: 'mine' } as never),
      ).rejects.toMatchObject({ code: 'VALIDATION' })
      await expect(
        repo.create({ userId: '00000000-0000-4000-8000-000000000000', title: 'orphan' }),
      ).rejects.toMatchObject({ code: 'NOT_FOUND' })
      const hostile = "'); DROP TABLE notes; --"
      const stored = await repo.create({ userId: user.id, title: hostile })
      expect((await repo.findById(stored.id))?.title).toBe(hostile)
      expect((await repo.listByUser(user.id)).items).toHaveLength(1)
    })

    it('writes inside data.transaction() through tx.ext, and rolls them back with it', async () => {
      const user = await t.fixtures.user()
      await expect(
        t.data.transaction(async (tx) => {
          await tx.ext.notes.create({ userId: user.id, title: 'draft' })
          throw new Error('changed my mind')
        }),
      ).rejects.toThrow('changed my mind')
      expect((await t.data.ext.notes.listByUser(user.id)).items).toEqual([])
      const kept = await t.data.transaction((tx) =>
        tx.ext.notes.create({ userId: user.id, title: 'kept' }),
      )
      expect(await t.data.ext.notes.findById(kept.id)).toEqual(kept)
    })

    it('goes with its user (cascade) and outlives its chat (unlinked)', async () => {
      const chat = await t.fixtures.chat()
      const note = await t.data.ext.notes.create({
        userId: chat.userId,
        chatId: chat.id,
        title: 'n',
      })
      await t.data.chats.delete(chat.id)
      expect((await t.data.ext.notes.findById(note.id))?.chatId).toBeNull()
      await t.data.users.delete(chat.userId)
      expect(await t.data.ext.notes.findById(note.id)).toBeNull()
    })

    it('applies its migrations after the core ones, in its own table, once', async () => {
      const empty = await createTestDataLayer({
        extensions: [notes()],
        use: { database: backend.database },
        migrate: false,
      })
      try {
        const { applied } = await empty.data.migrate()
        expect(applied.map((m) => `${m.set}/${m.tag}`)).toEqual([
          'core/0000_enable_pgvector',
          'core/0001_core_schema',
          'core/0002_full_text',
          'core/0003_message_parts',
          'core/0004_streams_and_branches',
          'core/0005_chat_management',
          'core/0006_attachments',
          'core/0007_token_counts',
          'core/0008_summaries_and_notes',
          'core/0009_embedding_queue',
          'core/0010_user_memories',
          'notes/0000_create_notes',
          'notes/0001_pinned_index',
        ])
        const recorded = await empty.data.db.execute<{ set_name: string; tag: string }>(
          sql`SELECT set_name, tag FROM notes_migrations ORDER BY tag`,
        )
        expect(recorded.rows).toEqual([
          { set_name: 'notes', tag: '0000_create_notes' },
          { set_name: 'notes', tag: '0001_pinned_index' },
        ])
        const core = await empty.data.db.execute<{ n: number }>(
          sql`SELECT count(*)::int AS n FROM stratum_migrations WHERE set_name = 'notes'`,
        )
        expect(core.rows[0]?.n).toBe(0)
        expect((await empty.data.migrate()).applied).toEqual([])
      } finally {
        await empty.destroy()
      }
    })
  })
}
