import { sql } from 'drizzle-orm'
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { chooseFold } from '../../src/context/fold-choice.js'
import type { DataLayer, User } from '../../src/index.js'
import { backends, uniqueEmail } from '../helpers/backends.js'
import { anyInput, anyText, propertyOptions, settle } from '../helpers/property.js'

// Issue #20, pinned notes and summaries: generated tails, chats and options.

const tailMessage = fc.record({
  row: fc.record({
    role: fc.constantFrom('user' as const, 'assistant' as const, 'tool' as const),
    status: fc.constantFrom('complete' as const, 'complete' as const, 'streaming' as const),
  }),
  tokens: fc.integer({ min: 0, max: 500 }),
})

describe('the part of a tail a refresh folds, generated', () => {
  it('never takes the current turn, a streaming reply or more than maxInput (but a whole first turn), and leaves a user message first', () => {
    fc.assert(
      fc.property(
        fc.array(tailMessage, { maxLength: 40 }),
        fc.integer({ min: 0, max: 3000 }),
        fc.integer({ min: 1, max: 3000 }),
        (tail, keepRecent, maxInput) => {
          const n = chooseFold(tail, { keepRecent, maxInput })
          expect(n).toBeGreaterThanOrEqual(0)
          expect(n).toBeLessThanOrEqual(tail.length)
          if (n === 0) return
          const lastUser = tail.findLastIndex((m) => m.row.role === 'user')
          expect(n).toBeLessThanOrEqual(lastUser)
          expect(tail[n]!.row.role).toBe('user')
          expect(tail.slice(0, n).every((m) => m.row.status !== 'streaming')).toBe(true)
          const folded = tail.slice(0, n).reduce((sum, m) => sum + m.tokens, 0)
          const oneTurn = tail.slice(1, n).every((m) => m.row.role !== 'user')
          expect(oneTurn || folded <= maxInput).toBe(true)
        },
      ),
      propertyOptions(500),
    )
  })
})

describe('summaries and notes, generated [pglite (embedded)]', () => {
  let data: DataLayer
  let user: User
  beforeAll(async () => {
    data = await backends[0]!.open()
    user = await data.users.create({ email: uniqueEmail() })
  })

  it('covers the oldest messages and builds the rest after the summary, for any chat', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 80 }), {
          minLength: 2,
          maxLength: 24,
        }),
        fc.integer({ min: 0, max: 400 }),
        async (texts, keepRecent) => {
          const chat = await data.chats.create({ userId: user.id })
          const stored = await data.messages.saveUIMessages(
            chat.id,
            texts.map((text, i) => ({
              id: `m${i}`,
              role: i % 2 === 0 ? ('user' as const) : ('assistant' as const),
              parts: [{ type: 'text', text }],
            })),
          )
          let folded = 0
          const result = await data.context.summarize({
            chatId: chat.id,
            userId: user.id,
            threshold: 0,
            keepRecent,
            summarize: async ({ messages }) => {
              folded = messages.length
              return `summary of ${messages.length}`
            },
          })
          if (result.status !== 'refreshed') {
            expect(result.status).toBe('nothing-to-fold')
            return
          }
          expect(result.summary!.coversMessageId).toBe(stored[folded - 1]!.id)
          const built = await data.context.build({
            chatId: chat.id,
            userId: user.id,
            budget: 1_000_000,
          })
          expect(built.summary?.included).toBe(true)
          expect(built.included.map((m) => m.id)).toEqual(stored.slice(folded).map((m) => m.id))
          expect(built.messages[0]!.role).toBe('user')
        },
      ),
      propertyOptions(40),
    )
  })

  it('refuses malformed pins and summarize options, storing nothing', async () => {
    const chat = await data.chats.create({ userId: user.id })
    await data.messages.saveUIMessages(chat.id, [
      { id: 'a', role: 'user', parts: [{ type: 'text', text: 'hello there' }] },
      { id: 'b', role: 'assistant', parts: [{ type: 'text', text: 'hi' }] },
      { id: 'c', role: 'user', parts: [{ type: 'text', text: 'and now?' }] },
    ])
    const rows = async () =>
      (
        await data.db.execute<{ n: number }>(
          sql`SELECT (SELECT count(*) FROM chat_notes WHERE chat_id = ${chat.id})
                   + (SELECT count(*) FROM chat_summaries WHERE chat_id = ${chat.id}) AS n`,
        )
      ).rows[0]!.n
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string({ maxLength: 50 }), anyText, anyInput),
        fc.oneof(fc.integer({ min: -5, max: 100 }), fc.double(), anyInput),
        fc.oneof(fc.constant(chat.id), anyInput),
        async (content, threshold, chatId) => {
          const before = Number(await rows())
          const pinned = await settle(
            () =>
              data.context.pin({
                chatId: chatId as string,
                userId: user.id,
                content: content as string,
              }),
            ['VALIDATION', 'NOT_FOUND'],
          )
          if (pinned.ok) {
            expect(pinned.value.content).toBe(content)
            await data.context.unpin({ chatId: chat.id, userId: user.id, noteId: pinned.value.id })
          }
          const summarized = await settle(
            () =>
              data.context.summarize({
                chatId: chatId as string,
                userId: user.id,
                threshold: threshold as number,
                keepRecent: 0,
                summarize: async () => content as string,
              }),
            ['VALIDATION', 'NOT_FOUND'],
          )
          if (summarized.ok && summarized.value.status === 'refreshed') {
            expect(summarized.value.summary!.content).toBe(content)
            await data.db.execute(sql`DELETE FROM chat_summaries WHERE chat_id = ${chat.id}`)
          }
          expect(Number(await rows())).toBe(before)
        },
      ),
      propertyOptions(100),
    )
  })
})
