import { type UIMessage, validateUIMessages } from 'ai'
import { beforeAll, describe, expect, it } from 'vitest'
import type { DataLayer, User } from '../../src/index.js'
import { backendsWithPooler as backends, backendTitle, uniqueEmail } from '../helpers/backends.js'
import { failure } from '../helpers/failure.js'
import { conversation } from './ui-message-fixtures.js'

for (const backend of backends) {
  describe(`UI messages saved in a chat [${backendTitle(backend)}]`, () => {
    let data: DataLayer
    let user: User
    beforeAll(async () => {
      data = await backend.open()
      user = await data.users.create({ email: uniqueEmail() })
    })

    it('load back equal to what was saved, ids included, and pass validateUIMessages', async () => {
      const chat = await data.chats.create({ userId: user.id, title: 'weather' })
      const rows = await data.messages.saveUIMessages(chat.id, conversation)
      expect(rows.map((r) => r.clientId)).toEqual(conversation.map((m) => m.id))
      // The plain text of the parts is the content, for full-text search.
      expect(rows[2]!.content).toBe('It is 7.5 °C and cloudy in Zürich.')
      const loaded = (await data.messages.loadUIMessages(chat.id)) as unknown as UIMessage[]
      expect(loaded).toEqual(conversation)
      await expect(validateUIMessages({ messages: loaded })).resolves.toEqual(loaded)
    })

    it('saving again is idempotent; a changed message is replaced in place, not duplicated', async () => {
      const chat = await data.chats.create({ userId: user.id, title: 'retry' })
      const [first, second] = [conversation[1]!, conversation[2]!]
      await data.messages.saveUIMessages(chat.id, [first])
      await data.messages.saveUIMessages(chat.id, [first]) // a retried request
      const streaming: UIMessage = { ...second, parts: second.parts.slice(0, 3) }
      await data.messages.saveUIMessages(chat.id, [first, streaming])
      await data.messages.saveUIMessages(chat.id, [first, second]) // onFinish with the rest
      await data.messages.saveUIMessages(chat.id, [first, second]) // onFinish again
      expect(await data.messages.count({ chatId: chat.id })).toBe(2)
      expect(await data.messages.loadUIMessages(chat.id)).toEqual([first, second])
    })

    it('reads plain messages as one text part, and the cached first page sees saves', async () => {
      const chat = await data.chats.create({ userId: user.id, title: 'mixed' })
      const plain = await data.messages.append({ chatId: chat.id, role: 'user', content: 'plain' })
      expect(plain.parts).toBeNull()
      await data.messages.listByChat(chat.id) // fills the cached first page
      await data.messages.saveUIMessages(chat.id, [
        { id: 'a1', role: 'assistant', parts: [{ type: 'text', text: 'with parts' }] },
      ])
      expect((await data.messages.listByChat(chat.id)).items).toHaveLength(2)
      expect(await data.messages.loadUIMessages(chat.id)).toEqual([
        { id: plain.id, role: 'user', parts: [{ type: 'text', text: 'plain' }] },
        { id: 'a1', role: 'assistant', parts: [{ type: 'text', text: 'with parts' }] },
      ])
    })

    it('append takes parts and derives content; content that is not their text is refused', async () => {
      const chat = await data.chats.create({ userId: user.id, title: 'parts' })
      const parts = [
        { type: 'reasoning' as const, text: 'think' },
        { type: 'text' as const, text: 'answer' },
      ]
      const row = await data.messages.append({ chatId: chat.id, role: 'assistant', parts })
      expect(row.content).toBe('answer')
      expect(row.parts).toEqual(parts)
      const wrong = await failure(() =>
        data.messages.append({ chatId: chat.id, role: 'assistant', parts, content: 'other' }),
      )
      expect(wrong.code).toBe('VALIDATION')
      expect(wrong.issues?.[0]?.path).toBe('content')
      expect(await data.messages.count({ chatId: chat.id })).toBe(1)
    })

    it('refuses, writing nothing: a role change, a repeated id, bad parts, metadata that is not an object', async () => {
      const chat = await data.chats.create({ userId: user.id, title: 'refusals' })
      await data.messages.saveUIMessages(chat.id, [conversation[1]!])
      const roleChange = await failure(() =>
        data.messages.saveUIMessages(chat.id, [
          conversation[2]!,
          { ...conversation[1]!, role: 'assistant' },
        ]),
      )
      expect(roleChange.code).toBe('CONFLICT')
      const twice = await failure(() =>
        data.messages.saveUIMessages(chat.id, [conversation[2]!, conversation[2]!]),
      )
      expect(twice.code).toBe('VALIDATION')
      expect(twice.issues?.[0]?.path).toBe('[1].id')
      const nan = await failure(() =>
        data.messages.saveUIMessages(chat.id, [
          {
            id: 'bad',
            role: 'assistant',
            parts: [
              {
                type: 'tool-x',
                toolCallId: 'c',
                state: 'input-available',
                input: { n: Number.NaN },
              },
            ],
          },
        ]),
      )
      expect(nan.code).toBe('VALIDATION')
      expect(nan.issues?.[0]?.path).toBe('[0].parts[0].input.n')
      const listMetadata = await failure(() =>
        data.messages.saveUIMessages(chat.id, [
          { id: 'meta', role: 'user', metadata: [1], parts: [] },
        ]),
      )
      expect(listMetadata.code).toBe('VALIDATION')
      expect(listMetadata.issues?.[0]?.path).toBe('[0].metadata')
      const missing = await failure(() =>
        data.messages.saveUIMessages('0190e9a4-3b5e-7d2a-9c1f-2a3b4c5d6e7f', [conversation[1]!]),
      )
      expect(missing.code).toBe('NOT_FOUND')
      expect(await data.messages.loadUIMessages(chat.id)).toEqual([conversation[1]])
    })
  })
}
