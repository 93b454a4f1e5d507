import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import type { DataLayer, User } from '../../src/index.js'
import { backends, backendTitle, uniqueEmail } from '../helpers/backends.js'
import { anyInput, anyText, propertyOptions, settle } from '../helpers/property.js'

// Issue #19: generated inputs for the reply stream and the branch calls. Each call either
// does what it says (the stored reply reads back exactly as the last accepted update) or
// fails with a documented code, leaving the chat as it was.

const part = fc.oneof(
  fc.record({ type: fc.constant('text'), text: fc.oneof(anyText, fc.string()) }),
  fc.record({ type: fc.constant('reasoning'), text: anyText }),
  fc.record({
    type: fc.constantFrom('tool-search', 'data-x', 'future-kind'),
    toolCallId: fc.oneof(fc.string({ maxLength: 6 }), anyInput),
    state: fc.constantFrom('input-available', 'output-available', 'bogus'),
    input: fc.oneof(fc.jsonValue({ maxDepth: 2 }), anyInput),
    data: fc.jsonValue({ maxDepth: 2 }),
  }),
  anyInput,
)

for (const backend of backends) {
  describe(`replies and branches, generated [${backendTitle(backend)}]`, () => {
    let data: DataLayer
    let user: User
    beforeAll(async () => {
      data = await backend.open()
      user = await data.users.create({ email: uniqueEmail() })
    })

    it('a reply stores its last accepted update exactly; a refused update changes nothing', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.array(part, { maxLength: 3 }), { minLength: 1, maxLength: 4 }),
          async (updates) => {
            const chat = await data.chats.create({ userId: user.id })
            const reply = await data.messages.startReply(chat.id, { flushIntervalMs: 0 })
            let accepted: unknown[] = []
            for (const parts of updates) {
              try {
                reply.update({ parts })
                accepted = parts
              } catch (error) {
                expect((error as { code?: string }).code).toBe('VALIDATION')
              }
            }
            await reply.flush()
            const done = await reply.finish({ finishReason: 'stop' })
            expect(done.status).toBe('complete')
            const [loaded] = await data.messages.loadUIMessages(chat.id)
            expect(loaded).toEqual({
              id: reply.id,
              role: 'assistant',
              parts: JSON.parse(JSON.stringify(accepted)),
            })
          },
        ),
        propertyOptions(40),
      )
    })

    it('startReply and switchBranch take any input: done, or a documented code with the chat unchanged', async () => {
      const chat = await data.chats.create({ userId: user.id })
      await data.messages.saveUIMessages(chat.id, [
        { id: 'u1', role: 'user', parts: [{ type: 'text', text: 'q' }] },
        { id: 'a1', role: 'assistant', parts: [{ type: 'text', text: 'a' }] },
      ])
      await fc.assert(
        fc.asyncProperty(
          fc.dictionary(
            fc.constantFrom(
              'id',
              'parentId',
              'model',
              'metadata',
              'streamId',
              'flushIntervalMs',
              'seq',
            ),
            fc.oneof(anyInput, fc.constantFrom('u1', 'a1')),
            { maxKeys: 3 },
          ),
          fc.oneof(anyInput, fc.constantFrom('u1', 'a1', 'missing')),
          async (options, branch) => {
            const before = await data.messages.count({ chatId: chat.id })
            const activeBefore = (await data.chats.getById(chat.id)).activeMessageId
            const started = await settle(
              () => data.messages.startReply(chat.id, options as never),
              ['VALIDATION', 'NOT_FOUND', 'CONFLICT'],
            )
            if (started.ok) {
              await started.value.abort()
              expect(await data.messages.count({ chatId: chat.id })).toBe(before + 1)
            } else {
              expect(await data.messages.count({ chatId: chat.id })).toBe(before)
              expect((await data.chats.getById(chat.id)).activeMessageId).toBe(activeBefore)
            }
            const activeNow = (await data.chats.getById(chat.id)).activeMessageId
            const switched = await settle(
              () => data.messages.switchBranch(chat.id, branch as never),
              ['VALIDATION', 'NOT_FOUND'],
            )
            if (!switched.ok)
              expect((await data.chats.getById(chat.id)).activeMessageId).toBe(activeNow)
          },
        ),
        propertyOptions(60),
      )
    })

    it('the read calls take any chat id and cursor: a page, or VALIDATION', async () => {
      const chat = await data.chats.create({ userId: user.id })
      await data.messages.saveUIMessages(chat.id, [
        { id: 'u1', role: 'user', parts: [{ type: 'text', text: 'q' }] },
      ])
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(anyInput, fc.uuid(), fc.constant(chat.id)),
          fc.option(fc.oneof(anyInput, fc.base64String())),
          fc.constantFrom('asc', 'desc'),
          async (chatId, cursor, order) => {
            const options = { order, ...(cursor === null ? {} : { cursor }) } as never
            const listed = await settle(
              () => data.messages.listByChat(chatId as never, options),
              ['VALIDATION'],
            )
            if (listed.ok && chatId !== chat.id) expect(listed.value.items).toEqual([])
            await settle(() => data.messages.branches(chatId as never), ['VALIDATION'])
            await settle(() => data.messages.loadUIMessages(chatId as never), ['VALIDATION'])
          },
        ),
        propertyOptions(60),
      )
    })

    it('chat management takes any input: done, or a documented code with the chat as it was', async () => {
      const chat = await data.chats.create({ userId: user.id, title: 'managed' })
      const calls = ['pin', 'unpin', 'archive', 'unarchive', 'softDelete', 'restore'] as const
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...calls),
          fc.oneof(anyInput, fc.uuid(), fc.constant(chat.id)),
          fc.dictionary(
            fc.constantFrom('show', 'pinned', 'limit', 'olderThanMs', 'x'),
            fc.oneof(anyInput, fc.constantFrom('active', 'archived', 'deleted', 'all', true)),
            { maxKeys: 2 },
          ),
          async (call, id, options) => {
            const before = await data.chats.getById(chat.id)
            const done = await settle(
              () => data.chats[call](id as never),
              ['VALIDATION', 'NOT_FOUND'],
            )
            if (!done.ok || id !== chat.id)
              expect(await data.chats.getById(chat.id)).toEqual(before)
            await settle(() => data.chats.listByUser(user.id, options as never), ['VALIDATION'])
            await data.chats.restore(chat.id) // so that no generated retention purges it
            await settle(
              () => data.chats.purgeDeleted({ olderThanMs: options.olderThanMs } as never),
              ['VALIDATION'],
            )
          },
        ),
        propertyOptions(60),
      )
    })
  })
}
