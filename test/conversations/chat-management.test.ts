import { sql } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import type { DataLayer, User } from '../../src/index.js'
import { backends, backendTitle, uniqueEmail } from '../helpers/backends.js'
import { failure } from '../helpers/failure.js'

for (const backend of backends) {
  describe(`managing chats [${backendTitle(backend)}]`, () => {
    let data: DataLayer
    let user: User
    beforeAll(async () => {
      data = await backend.open()
      user = await data.users.create({ email: uniqueEmail() })
    })
    const titles = async (options: Parameters<DataLayer['chats']['listByUser']>[1] = {}) =>
      (await data.chats.listByUser(user.id, options)).items.map((c) => c.title)

    it('pins, archives and deletes softly; each list shows its chats; the update order is kept', async () => {
      const first = await data.chats.create({ userId: user.id, title: 'first' })
      const second = await data.chats.create({ userId: user.id, title: 'second' })
      const third = await data.chats.create({ userId: user.id, title: 'third' })
      expect(await titles()).toEqual(['third', 'second', 'first'])

      const pinned = await data.chats.pin(first.id)
      expect(pinned.pinnedAt).toBeInstanceOf(Date)
      expect(pinned.updatedAt).toEqual(first.updatedAt)
      expect(await titles({ pinned: true })).toEqual(['first'])
      expect(await titles({ pinned: false })).toEqual(['third', 'second'])

      await data.chats.archive(second.id)
      expect(await titles()).toEqual(['third', 'first'])
      expect(await titles({ show: 'archived' })).toEqual(['second'])

      await data.chats.softDelete(third.id)
      expect(await titles()).toEqual(['first'])
      expect(await titles({ show: 'deleted' })).toEqual(['third'])
      expect(await titles({ show: 'all' })).toEqual(['third', 'second', 'first'])

      await data.chats.unarchive(second.id)
      await data.chats.restore(third.id)
      await data.chats.unpin(first.id)
      expect(await titles()).toEqual(['third', 'second', 'first'])
      expect(await titles({ pinned: true })).toEqual([])
    })

    it('a deleted chat takes no new message until restored', async () => {
      const chat = await data.chats.create({ userId: user.id, title: 'trash' })
      await data.messages.append({ chatId: chat.id, role: 'user', content: 'before' })
      await data.chats.softDelete(chat.id)
      const again = await data.chats.softDelete(chat.id)
      expect(again.deletedAt).toEqual((await data.chats.getById(chat.id)).deletedAt)
      const append = await failure(() =>
        data.messages.append({ chatId: chat.id, role: 'user', content: 'after' }),
      )
      expect(append.code).toBe('CONFLICT')
      expect(append.message).toMatch(/restore/)
      expect((await failure(() => data.messages.startReply(chat.id))).code).toBe('CONFLICT')
      expect(await data.messages.count({ chatId: chat.id })).toBe(1)
      await data.chats.restore(chat.id)
      await data.messages.append({ chatId: chat.id, role: 'user', content: 'after' })
      expect(await data.messages.count({ chatId: chat.id })).toBe(2)
    })

    it('purges deleted chats past the retention time, with their messages and vectors, and nothing else', async () => {
      const old = await data.chats.create({ userId: user.id, title: 'old trash' })
      const recent = await data.chats.create({ userId: user.id, title: 'recent trash' })
      const kept = await data.chats.create({ userId: user.id, title: 'kept' })
      for (const chat of [old, recent, kept]) {
        const message = await data.messages.append({ chatId: chat.id, role: 'user', content: 'hi' })
        await data.vectors.upsert([
          {
            userId: user.id,
            chatId: chat.id,
            messageId: message.id,
            content: 'hi',
            embedding: Array.from({ length: 1536 }, (_, i) => (i === 0 ? 1 : 0)),
          },
        ])
      }
      await data.chats.softDelete(old.id)
      await data.chats.softDelete(recent.id)
      await data.chats.findById(old.id) // cached
      // Deleted 31 days ago.
      await data.db.execute(
        sql`update chats set deleted_at = now() - interval '31 days' where id = ${old.id}`,
      )
      expect(await data.chats.purgeDeleted()).toBe(1)
      expect(await data.chats.findById(old.id)).toBeNull()
      expect(await data.messages.count({ chatId: old.id })).toBe(0)
      const vectors = await data.db.execute<{ n: number }>(
        sql`select count(*)::int as n from chat_vectors where chat_id = ${old.id}`,
      )
      expect(vectors.rows[0]!.n).toBe(0)
      expect((await data.chats.getById(recent.id)).deletedAt).toBeInstanceOf(Date)
      expect(await data.messages.count({ chatId: kept.id })).toBe(1)
      // A shorter retention takes the recent one too.
      expect(await data.chats.purgeDeleted({ olderThanMs: 0 })).toBe(1)
      expect(await data.chats.findById(recent.id)).toBeNull()
      expect(await data.chats.purgeDeleted({ olderThanMs: 0 })).toBe(0)
    })

    it('refuses bad input with VALIDATION or NOT_FOUND', async () => {
      expect((await failure(() => data.chats.pin('not-a-uuid'))).code).toBe('VALIDATION')
      expect(
        (await failure(() => data.chats.archive('00000000-0000-7000-8000-000000000000'))).code,
      ).toBe('NOT_FOUND')
      expect(
        (await failure(() => data.chats.listByUser(user.id, { show: 'gone' as never }))).code,
      ).toBe('VALIDATION')
      expect(
        (await failure(() => data.chats.listByUser(user.id, { pinned: 'yes' as never }))).code,
      ).toBe('VALIDATION')
      expect((await failure(() => data.chats.purgeDeleted({ olderThanMs: -1 }))).code).toBe(
        'VALIDATION',
      )
      expect(
        (await failure(() => data.chats.update(user.id, { deletedAt: null } as never))).code,
      ).toBe('VALIDATION')
    })
  })
}
