import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Chat, DataLayer, User } from '../../src/index.js'
import { backends, uniqueEmail } from '../helpers/backends.js'
import { anyInput, propertyOptions, settle } from '../helpers/property.js'

// Issue #20, context.build: generated chats and options. A context never uses more than its
// budget, holds whole stored messages newest last, begins with a user message and ends with
// the latest one; anything else is VALIDATION (or NOT_FOUND for another user's chat).

const DIMENSIONS = 8
const message = fc.record({
  role: fc.constantFrom('user', 'assistant'),
  text: fc.string({ unit: 'grapheme', maxLength: 200 }).filter((s) => !s.includes('\u0000')),
})

describe('context.build, generated [pglite (embedded)]', () => {
  let data: DataLayer
  let user: User
  beforeAll(async () => {
    data = await backends[0]!.open({ embeddings: { dimensions: DIMENSIONS } })
    user = await data.users.create({ email: uniqueEmail() })
  })

  it('fits any budget it accepts, with whole messages, the latest user message last', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(message, { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 1, max: 3000 }),
        fc.option(fc.string({ maxLength: 300 }), { nil: undefined }),
        async (messages, budget, system) => {
          const chat: Chat = await data.chats.create({ userId: user.id })
          const stored = await data.messages.saveUIMessages(
            chat.id,
            [...messages, { role: 'user', text: 'and now?' }].map((m, i) => ({
              id: `m${i}`,
              role: m.role as 'user' | 'assistant',
              parts: [{ type: 'text', text: m.text }],
            })),
          )
          const outcome = await settle(
            () => data.context.build({ chatId: chat.id, userId: user.id, budget, system }),
            ['VALIDATION'],
          )
          if (!outcome.ok) return
          const context = outcome.value
          expect(context.tokens.used).toBeLessThanOrEqual(budget)
          expect(context.included.at(-1)?.id).toBe(stored.at(-1)!.id)
          expect(context.messages[0]?.role).toBe('user')
          const byId = new Map(stored.map((m) => [m.id, m]))
          context.included.forEach((included, i) => {
            const row = byId.get(included.id)!
            expect(context.messages[i]).toEqual({
              id: `m${stored.indexOf(row)}`,
              role: row.role,
              parts: row.parts,
            })
          })
          const seqs = context.included.map((m) => m.seq!)
          expect(seqs).toEqual(stored.slice(-seqs.length).map((m) => m.seq))
        },
      ),
      propertyOptions(40),
    )
  })

  it('refuses any malformed option with VALIDATION, and never shows another user a chat', async () => {
    const chat = await data.chats.create({ userId: user.id })
    await data.messages.append({ chatId: chat.id, role: 'user', content: 'hi' })
    const other = await data.users.create({ email: uniqueEmail() })
    await fc.assert(
      fc.asyncProperty(
        fc.record(
          {
            chatId: fc.oneof(fc.constant(chat.id), anyInput),
            userId: fc.oneof(fc.constant(user.id), fc.constant(other.id), anyInput),
            budget: fc.oneof(fc.integer({ min: -10, max: 100_000 }), fc.double(), anyInput),
            system: anyInput,
            relevant: anyInput,
            fileTokens: anyInput,
            leafId: anyInput,
          },
          { requiredKeys: ['chatId', 'userId', 'budget'] },
        ),
        async (options) => {
          const outcome = await settle(
            () => data.context.build(options as never),
            ['VALIDATION', 'NOT_FOUND'],
          )
          if (outcome.ok) {
            expect(options.userId).toBe(user.id)
            expect(outcome.value.tokens.used).toBeLessThanOrEqual(options.budget as number)
          } else if (outcome.code === 'NOT_FOUND') {
            expect(options.userId === other.id || options.leafId !== undefined).toBe(true)
          }
        },
      ),
      propertyOptions(150),
    )
  })
})
