import { sql } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import type { DataLayer, ReplyStream, User } from '../../src/index.js'
import { backendsWithPooler as backends, backendTitle, uniqueEmail } from '../helpers/backends.js'
import { failure } from '../helpers/failure.js'
import { waitFor } from '../helpers/wait-for.js'

const textOf = (text: string) => ({ parts: [{ type: 'text', text }] })

for (const backend of backends) {
  describe(`streamed replies [${backendTitle(backend)}]`, () => {
    let data: DataLayer
    let user: User
    beforeAll(async () => {
      data = await backend.open()
      user = await data.users.create({ email: uniqueEmail() })
    })

    const newChat = async (title: string) => {
      const chat = await data.chats.create({ userId: user.id, title })
      await data.messages.saveUIMessages(chat.id, [
        { id: 'u1', role: 'user', parts: [{ type: 'text', text: 'Tell me a story' }] },
      ])
      return chat
    }
    const row = async (id: string) => (await data.messages.findById(id))!

    it('streams into one message: status streaming, then complete with reason, model and usage', async () => {
      const chat = await newChat('story')
      const reply = await data.messages.startReply(chat.id, { streamId: 's-1', model: 'mock-1' })
      expect(reply.id).toBe(reply.messageId)
      const started = await row(reply.messageId)
      expect(started).toMatchObject({ status: 'streaming', role: 'assistant', content: '' })
      expect((await data.chats.findById(chat.id))?.activeStreamId).toBe('s-1')

      let text = ''
      for (const word of 'Once upon a time there was a database'.split(' ')) {
        text += `${text ? ' ' : ''}${word}`
        reply.update(textOf(text))
      }
      // The loop ran without yielding: the timer could not fire, so nothing is written yet.
      expect(reply.stats).toEqual({ updates: 8, writes: 0 })
      await reply.flush()
      expect(reply.stats.writes).toBe(1)
      expect(await row(reply.messageId)).toMatchObject({ status: 'streaming', content: text })
      // The cached first page of the chat sees the flushed text.
      expect((await data.messages.listByChat(chat.id)).items.at(-1)?.content).toBe(text)

      const usage = { inputTokens: 12, outputTokens: 9, totalTokens: 21 }
      const done = await reply.finish({ finishReason: 'stop', usage, message: textOf(`${text}.`) })
      expect(done).toMatchObject({
        status: 'complete',
        finishReason: 'stop',
        model: 'mock-1',
        usage,
        content: `${text}.`,
      })
      expect(done.finishedAt).toBeInstanceOf(Date)
      expect((await data.chats.findById(chat.id))?.activeStreamId).toBeNull()
      expect((await data.messages.listByChat(chat.id)).items.at(-1)?.status).toBe('complete')
      expect(await data.messages.loadUIMessages(chat.id)).toEqual([
        { id: 'u1', role: 'user', parts: [{ type: 'text', text: 'Tell me a story' }] },
        { id: reply.id, role: 'assistant', parts: [{ type: 'text', text: `${text}.` }] },
      ])
    })

    it('abort keeps what had arrived, with status aborted', async () => {
      const chat = await newChat('stopped')
      const reply = await data.messages.startReply(chat.id, { id: 'a-stop' })
      reply.update(textOf('The first half'))
      const stopped = await reply.abort()
      expect(stopped).toMatchObject({ status: 'aborted', content: 'The first half' })
      expect(stopped.finishReason).toBeNull()
      expect((await data.messages.loadUIMessages(chat.id)).at(-1)).toEqual({
        id: 'a-stop',
        role: 'assistant',
        parts: [{ type: 'text', text: 'The first half' }],
      })
    })

    it('refuses calls in the wrong order and bad updates, keeping the last good state', async () => {
      const chat = await newChat('order')
      const reply = await data.messages.startReply(chat.id)
      reply.update(textOf('good'))
      const bad = (() => {
        try {
          reply.update({ parts: [{ type: 'text', text: Number.NaN }] })
        } catch (error) {
          return error as { code: string; issues: { path: string }[] }
        }
      })()
      expect(bad?.code).toBe('VALIDATION')
      expect(bad?.issues[0]?.path).toBe('parts[0].text')
      expect(() => reply.update({ id: 'other', parts: [] })).toThrow(/reply's id/)
      expect(() => reply.update(null as never)).toThrow(/UI message/)
      expect(() => reply.update({ role: 'user', parts: [] })).toThrow(/must be 'assistant'/)
      const done = await reply.finish({ finishReason: 'stop' })
      expect(done.content).toBe('good')
      expect(() => reply.update(textOf('late'))).toThrow(/complete already/)
      expect((await failure(() => reply.finish())).code).toBe('CONFLICT')
      expect((await failure(() => reply.abort())).code).toBe('CONFLICT')
      expect((await row(reply.messageId)).content).toBe('good')
    })

    it('refuses a bad start, writing nothing', async () => {
      const chat = await newChat('bad start')
      const count = () => data.messages.count({ chatId: chat.id })
      const before = await count()
      const missing = await failure(() =>
        data.messages.startReply('00000000-0000-7000-8000-000000000000'),
      )
      expect(missing.code).toBe('NOT_FOUND')
      const unknown = await failure(() => data.messages.startReply(chat.id, { seq: 3 } as never))
      expect(unknown.code).toBe('VALIDATION')
      const badParent = await failure(() => data.messages.startReply(chat.id, { parentId: 'nope' }))
      expect(badParent.code).toBe('NOT_FOUND')
      const finish = await failure(() =>
        data.messages
          .startReply(chat.id)
          .then((r) => r.finish({ usage: { n: Number.POSITIVE_INFINITY } })),
      )
      expect(finish.code).toBe('VALIDATION')
      const inside = await failure(() => data.transaction((tx) => tx.messages.startReply(chat.id)))
      expect(inside.code).toBe('TRANSACTION_MISUSE')
      // The one reply that started is there, still streaming; nothing else was written.
      expect(await count()).toBe(before + 1)
    })

    it('a reply silent past the idle time is swept to interrupted; its writer may still finish it', async () => {
      const chat = await newChat('sweep')
      const reply = await data.messages.startReply(chat.id, {
        streamId: 's-2',
        heartbeatMs: 600_000,
      })
      reply.update(textOf('partial'))
      await reply.flush()
      const alive = await data.messages.startReply(chat.id, { parentId: 'u1' })
      // Its process "died" two minutes ago: the last write is that old.
      await data.db.execute(
        sql`update chat_messages set updated_at = now() - interval '2 minutes' where id = ${reply.messageId}`,
      )
      const swept = await data.messages.sweepInterruptedReplies()
      expect(swept).toEqual([reply.messageId])
      expect(await row(reply.messageId)).toMatchObject({
        status: 'interrupted',
        content: 'partial',
      })
      expect((await row(alive.messageId)).status).toBe('streaming')
      expect((await data.chats.findById(chat.id))?.activeStreamId).toBeNull()
      expect(await data.messages.sweepInterruptedReplies()).toEqual([])
      // A writer that was only slow, not dead, still completes its reply.
      expect((await reply.finish({ message: textOf('partial, then the rest') })).status).toBe(
        'complete',
      )
      await alive.abort()
      const bad = await failure(() => data.messages.sweepInterruptedReplies({ idleMs: -1 }))
      expect(bad.code).toBe('VALIDATION')
    })

    it('a writer with nothing new to write still touches its reply, so the sweep spares it', async () => {
      const chat = await newChat('heartbeat')
      const reply: ReplyStream = await data.messages.startReply(chat.id, { heartbeatMs: 200 })
      const before = (await row(reply.messageId)).updatedAt
      await waitFor('a heartbeat write', async () => reply.stats.writes > 0, 20_000, 50)
      await reply.flush()
      expect((await row(reply.messageId)).updatedAt.getTime()).toBeGreaterThan(before.getTime())
      expect(reply.stats.updates).toBe(0)
      await reply.abort()
    })
  })
}
