import { beforeAll, describe, expect, it } from 'vitest'
import type { ChatMessage, DataLayer, User } from '../../src/index.js'
import { backendsWithPooler as backends, backendTitle, uniqueEmail } from '../helpers/backends.js'

for (const backend of backends) {
  describe(`chats and messages [${backendTitle(backend)}]`, () => {
    let data: DataLayer
    let user: User
    beforeAll(async () => {
      data = await backend.open()
      user = await data.users.create({ email: uniqueEmail() })
    })

    it('appending bumps the chat, and chats list newest first', async () => {
      const older = await data.chats.create({ userId: user.id, title: 'older' })
      const newer = await data.chats.create({ userId: user.id, title: 'newer' })
      await new Promise((r) => setTimeout(r, 5))
      const message = await data.messages.append({
        chatId: older.id,
        role: 'user',
        content: 'bump',
      })
      const bumped = await data.chats.getById(older.id)
      expect(bumped.updatedAt.getTime()).toBeGreaterThanOrEqual(message.createdAt.getTime())
      expect(bumped.updatedAt.getTime()).toBeGreaterThan(older.updatedAt.getTime())
      const { items } = await data.chats.listByUser(user.id)
      expect(items.map((c) => c.id).slice(0, 2)).toEqual([older.id, newer.id])
      expect((await data.chats.rename(newer.id, 'renamed')).title).toBe('renamed')
    })

    it('appendMany keeps order, and listByChat pages through it both ways', async () => {
      const chat = await data.chats.create({ userId: user.id, title: 'long' })
      const written = await data.messages.appendMany(
        Array.from({ length: 45 }, (_, i) => ({
          chatId: chat.id,
          role: i % 2 ? ('assistant' as const) : ('user' as const),
          content: `m${i}`,
          metadata: { i },
        })),
      )
      expect(written.map((m) => m.content)).toEqual(Array.from({ length: 45 }, (_, i) => `m${i}`))
      const read: ChatMessage[] = []
      let cursor: string | null = null
      do {
        const page = await data.messages.listByChat(chat.id, { limit: 10, cursor })
        read.push(...page.items)
        cursor = page.nextCursor
      } while (cursor)
      expect(read.map((m) => m.content)).toEqual(written.map((m) => m.content))
      expect(read[3]!.metadata).toEqual({ i: 3 })
      const newest = await data.messages.listByChat(chat.id, { limit: 3, order: 'desc' })
      expect(newest.items.map((m) => m.content)).toEqual(['m44', 'm43', 'm42'])
    })

    it('refuses a missing chat with NOT_FOUND and a bad role with VALIDATION, writing nothing', async () => {
      const chat = await data.chats.create({ userId: user.id, title: 'strict' })
      const missing = '00000000-0000-4000-8000-000000000001'
      await expect(
        data.messages.append({ chatId: missing, role: 'user', content: 'x' }),
      ).rejects.toMatchObject({
        code: 'NOT_FOUND',
      })
      await expect(
        data.messages.appendMany([
          { chatId: chat.id, role: 'user', content: 'ok' },
          { chatId: missing, role: 'user', content: 'x' },
        ]),
      ).rejects.toMatchObject({ code: 'NOT_FOUND' })
      await expect(
        data.messages.append({ chatId: chat.id, role: 'admin' as never, content: 'x' }),
      ).rejects.toMatchObject({ code: 'VALIDATION' })
      await expect(
        data.messages.append({
          chatId: chat.id,
          role: 'user',
          content: 'x',
          metadata: [1, 2] as never,
        }),
      ).rejects.toMatchObject({ code: 'VALIDATION' })
      const cyclic: Record<string, unknown> = {}
      cyclic.self = cyclic
      await expect(
        data.messages.append({ chatId: chat.id, role: 'user', content: 'x', metadata: cyclic }),
      ).rejects.toMatchObject({ code: 'VALIDATION' })
      await expect(data.chats.create({ userId: missing, title: 'orphan' })).rejects.toMatchObject({
        code: 'NOT_FOUND',
      })
      expect(await data.messages.count({ chatId: chat.id })).toBe(0)
    })
  })
}
