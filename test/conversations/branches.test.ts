import { sql } from 'drizzle-orm'
import { v7 as uuidv7 } from 'uuid'
import { beforeAll, describe, expect, it } from 'vitest'
import type { DataLayer, User } from '../../src/index.js'
import { backends, backendTitle, uniqueEmail } from '../helpers/backends.js'
import { failure } from '../helpers/failure.js'

const text = (id: string, role: 'user' | 'assistant', words: string) => ({
  id,
  role,
  parts: [{ type: 'text' as const, text: words }],
})

for (const backend of backends) {
  describe(`branches of a chat [${backendTitle(backend)}]`, () => {
    let data: DataLayer
    let user: User
    beforeAll(async () => {
      data = await backend.open()
      user = await data.users.create({ email: uniqueEmail() })
    })

    const ids = async (chatId: string) =>
      (await data.messages.loadUIMessages(chatId)).map((m) => m.id)
    /** The active path's contents, read one message per page. */
    const pagedContents = async (chatId: string, order: 'asc' | 'desc') => {
      const out: string[] = []
      let cursor: string | undefined
      do {
        const page = await data.messages.listByChat(chatId, { order, limit: 1, cursor })
        out.push(...page.items.map((m) => m.content))
        cursor = page.nextCursor ?? undefined
      } while (cursor)
      return out
    }
    const conversation = [
      text('u1', 'user', 'Hi'),
      text('a1', 'assistant', 'Hello'),
      text('u2', 'user', 'Name a colour'),
      text('a2', 'assistant', 'Blue'),
    ]

    it('a regenerated answer is a sibling; switching shows either branch; counts for "2 / 2"', async () => {
      const chat = await data.chats.create({ userId: user.id, title: 'regenerate' })
      await data.messages.saveUIMessages(chat.id, conversation)
      await data.messages.listByChat(chat.id) // fills the cached first page
      const reply = await data.messages.startReply(chat.id, { id: 'a2b', parentId: 'u2' })
      await reply.finish({ message: { parts: [{ type: 'text', text: 'Green' }] } })

      expect(await ids(chat.id)).toEqual(['u1', 'a1', 'u2', 'a2b'])
      expect((await data.messages.listByChat(chat.id)).items.map((m) => m.content)).toEqual([
        'Hi',
        'Hello',
        'Name a colour',
        'Green',
      ])
      expect(await data.messages.branches(chat.id)).toEqual([
        { id: 'u1', siblingIds: ['u1'], index: 0 },
        { id: 'a1', siblingIds: ['a1'], index: 0 },
        { id: 'u2', siblingIds: ['u2'], index: 0 },
        { id: 'a2b', siblingIds: ['a2', 'a2b'], index: 1 },
      ])
      // Every message of every branch is still stored.
      expect(await data.messages.count({ chatId: chat.id })).toBe(5)

      await data.messages.switchBranch(chat.id, 'a2')
      expect(await ids(chat.id)).toEqual(['u1', 'a1', 'u2', 'a2'])
      expect((await data.messages.branches(chat.id)).at(-1)).toEqual({
        id: 'a2',
        siblingIds: ['a2', 'a2b'],
        index: 0,
      })
      const desc = await data.messages.listByChat(chat.id, { order: 'desc', limit: 2 })
      expect(desc.items.map((m) => m.clientId)).toEqual(['a2', 'u2'])
      const rest = await data.messages.listByChat(chat.id, {
        order: 'desc',
        limit: 2,
        cursor: desc.nextCursor!,
      })
      expect(rest.items.map((m) => m.clientId)).toEqual(['a1', 'u1'])
      expect(rest.nextCursor).toBeNull()
    })

    it('an edited user message sent with a new id branches off; switching back finds the newest answer there', async () => {
      const chat = await data.chats.create({ userId: user.id, title: 'edit' })
      await data.messages.saveUIMessages(chat.id, conversation)
      // The client cut its history back to a1 and sent the edit as a new message.
      await data.messages.saveUIMessages(chat.id, [
        ...conversation.slice(0, 2),
        text('u2e', 'user', 'Name a fruit'),
      ])
      await data.messages.saveUIMessages(chat.id, [
        ...conversation.slice(0, 2),
        text('u2e', 'user', 'Name a fruit'),
        text('a2e', 'assistant', 'Apple'),
      ])
      expect(await ids(chat.id)).toEqual(['u1', 'a1', 'u2e', 'a2e'])
      expect((await data.messages.branches(chat.id))[2]).toEqual({
        id: 'u2e',
        siblingIds: ['u2', 'u2e'],
        index: 1,
      })
      // Saving the old branch's messages again replaces them in place: no branch moves.
      await data.messages.saveUIMessages(chat.id, conversation)
      expect(await ids(chat.id)).toEqual(['u1', 'a1', 'u2e', 'a2e'])
      await data.messages.switchBranch(chat.id, 'u2')
      expect(await ids(chat.id)).toEqual(['u1', 'a1', 'u2', 'a2'])
      // A message sent with an explicit parent branches there, whatever is active.
      await data.messages.saveUIMessages(chat.id, [text('u2f', 'user', 'Name a city')], {
        parentId: 'a1',
      })
      expect(await ids(chat.id)).toEqual(['u1', 'a1', 'u2f'])
      expect((await data.messages.branches(chat.id))[2]?.siblingIds).toEqual(['u2', 'u2e', 'u2f'])
      // The parent asked for wins over the message before it in the call.
      await data.messages.saveUIMessages(
        chat.id,
        [conversation[0]!, text('a1b', 'assistant', 'Hey'), text('u2g', 'user', 'And?')],
        { parentId: 'u1' },
      )
      expect(await ids(chat.id)).toEqual(['u1', 'a1b', 'u2g'])
    })

    it('append follows the active message; a parent must be of the same chat', async () => {
      const chat = await data.chats.create({ userId: user.id, title: 'append' })
      const child2 = uuidv7()
      const other = await data.chats.create({ userId: user.id, title: 'other' })
      const [q, a] = await data.messages.appendMany([
        { chatId: chat.id, role: 'user', content: 'q' },
        { chatId: chat.id, role: 'assistant', content: 'a' },
      ])
      expect(q!.parentId).toBeNull()
      expect(a!.parentId).toBe(q!.id)
      const again = await data.messages.append({
        chatId: chat.id,
        role: 'assistant',
        content: 'a again',
        parentId: q!.id,
      })
      expect(again.parentId).toBe(q!.id)
      expect((await data.messages.listByChat(chat.id)).items.map((m) => m.content)).toEqual([
        'q',
        'a again',
      ])
      const foreign = await failure(() =>
        data.messages.append({ chatId: other.id, role: 'user', content: 'x', parentId: q!.id }),
      )
      expect(foreign.code).toBe('VALIDATION')
      expect(foreign.issues?.[0]?.path).toBe('parentId')
      // Parents may be given earlier in the same call; null starts a new root (an edit of
      // the first message); a parent given later in the call is refused.
      const [root, child] = [uuidv7(), uuidv7()]
      await data.messages.appendMany([
        { chatId: chat.id, id: root, parentId: null, role: 'user', content: 'q edited' },
        { chatId: chat.id, id: child, parentId: root, role: 'assistant', content: 'a2' },
      ])
      expect((await data.messages.listByChat(chat.id)).items.map((m) => m.content)).toEqual([
        'q edited',
        'a2',
      ])
      expect((await data.messages.branches(chat.id))[0]?.siblingIds).toEqual([q!.id, root])
      // Newest first, page by page, the walk ends at the new root: no older branch leaks in.
      expect(await pagedContents(chat.id, 'desc')).toEqual(['a2', 'q edited'])
      expect(await pagedContents(chat.id, 'asc')).toEqual(['q edited', 'a2'])
      const forward = await failure(() =>
        data.messages.appendMany([
          { chatId: chat.id, parentId: child2, role: 'user', content: 'x' },
          { chatId: chat.id, id: child2, role: 'user', content: 'y' },
        ]),
      )
      expect(forward.code).toBe('VALIDATION')
      expect(forward.issues?.[0]?.path).toBe('[0].parentId')
      const unknown = await failure(() => data.messages.switchBranch(chat.id, 'no-such-message'))
      expect(unknown.code).toBe('NOT_FOUND')
      expect(await data.messages.count({ chatId: other.id })).toBe(0)
      expect(await data.messages.count({ chatId: chat.id })).toBe(5)
    })

    it('deleting the active message shows the path of the newest one left', async () => {
      const chat = await data.chats.create({ userId: user.id, title: 'delete' })
      await data.messages.saveUIMessages(chat.id, conversation)
      const [a2] = await data.messages.findMany({ where: { chatId: chat.id, clientId: 'a2' } })
      await data.messages.delete(a2!.id)
      expect(await ids(chat.id)).toEqual(['u1', 'a1', 'u2'])
      // Deleting a message deletes the branch under it.
      const [a1] = await data.messages.findMany({ where: { chatId: chat.id, clientId: 'a1' } })
      await data.messages.delete(a1!.id)
      expect(await ids(chat.id)).toEqual(['u1'])
      expect(await data.messages.count({ chatId: chat.id })).toBe(1)
      // The next message follows the newest one left, and becomes the active one.
      const next = await data.messages.append({ chatId: chat.id, role: 'assistant', content: 'x' })
      expect(next.parentId).toBe(
        (await data.messages.findMany({ where: { clientId: 'u1', chatId: chat.id } }))[0]!.id,
      )
      expect((await data.chats.findById(chat.id))?.activeMessageId).toBe(next.id)
    })

    it('messages of a release before branches list in their old order, and are linked on the next append', async () => {
      const chat = await data.chats.create({ userId: user.id, title: 'older' })
      await data.messages.saveUIMessages(chat.id, conversation)
      // What a chat of the previous release looks like: no parents, no active message.
      await data.db.execute(
        sql`update chat_messages set parent_id = null where chat_id = ${chat.id}`,
      )
      await data.db.execute(sql`update chats set active_message_id = null where id = ${chat.id}`)
      expect(await ids(chat.id)).toEqual(['u1', 'a1', 'u2', 'a2'])
      expect(await pagedContents(chat.id, 'desc')).toEqual(['Blue', 'Name a colour', 'Hello', 'Hi'])
      await data.messages.saveUIMessages(chat.id, [text('u3', 'user', 'Thanks')])
      expect(await ids(chat.id)).toEqual(['u1', 'a1', 'u2', 'a2', 'u3'])
      const rows = await data.messages.findMany({
        where: { chatId: chat.id },
        orderBy: { seq: 'asc' },
      })
      expect(rows.map((m) => m.parentId)).toEqual([null, ...rows.slice(0, -1).map((m) => m.id)])
    })
  })
}
