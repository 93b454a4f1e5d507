import { convertToModelMessages, modelMessageSchema, type UIMessage } from 'ai'
import { beforeAll, describe, expect, it } from 'vitest'
import type { BuiltContext, Chat, DataLayer, User } from '../../src/index.js'
import { wordHashEmbedding } from '../../src/testing/synthetic-vectors.js'
import { backends, backendTitle, uniqueEmail } from '../helpers/backends.js'
import { failure } from '../helpers/failure.js'
import { o200k } from '../helpers/tokens.js'

// Issue #20, item 2: the context of a chat's next turn within a token budget.

const DIMENSIONS = 64
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
)
const SYSTEM = 'You are a helpful travel assistant. Answer briefly.'
const FACT = 'Remember this: my locker code is 7319, locker 42 at Oerlikon station.'
const QUESTION = 'What was my locker code at Oerlikon?'
const FOREIGN = 'My locker code is 1111 at Oerlikon station, locker 7.'

const embed = (text: string) => wordHashEmbedding(text, DIMENSIONS)

/**
 * What the test counts, by its own reading of the documented rules: each part's model text
 * by o200k_base, 4 tokens a message, 1,000 a file; the system text with its 4.
 */
function countedHere(context: BuiltContext): number {
  const system = context.system === undefined ? 0 : o200k(context.system) + 4
  let total = system
  for (const message of context.messages) {
    total += 4
    for (const part of message.parts as Record<string, unknown>[]) {
      const type = String(part.type)
      if (type === 'text' || type === 'reasoning') total += o200k(String(part.text))
      else if (type.startsWith('tool-')) {
        total += o200k(
          [type.slice(5), JSON.stringify(part.input), JSON.stringify(part.output), '', ''].join(
            '\n',
          ),
        )
      } else if (type === 'file') {
        total += 1000 + o200k(`${part.filename ?? ''}\n${part.mediaType}`)
      }
    }
  }
  return total
}

for (const backend of backends) {
  describe(`context.build [${backendTitle(backend)}]`, () => {
    let data: DataLayer
    let user: User
    let chat: Chat
    const seeded: { id: string; role: string }[] = []
    let questionId: string

    beforeAll(async () => {
      data = await backend.open({ embeddings: { dimensions: DIMENSIONS } })
      user = await data.users.create({ email: uniqueEmail('context') })
      chat = await data.chats.create({ userId: user.id, title: 'trip' })
      const files: Record<string, unknown>[] = []
      for (let i = 0; i < 5; i++) {
        const file = await data.attachments.upload({
          chatId: chat.id,
          body: PNG,
          mediaType: 'image/png',
          filename: `photo-${i}.png`,
        })
        files.push({ ...(await data.attachments.filePart(file)) })
      }
      // 500 messages: questions and answers, a tool call every tenth answer, a photo every
      // fiftieth question, and a fact planted 400 messages before the end.
      const messages = Array.from({ length: 500 }, (_, i) => {
        const id = `m${i}`
        if (i % 2 === 0) {
          const text = i === 100 ? FACT : `Question ${i}: what should I see in Zürich on day ${i}?`
          const parts: Record<string, unknown>[] = [{ type: 'text', text }]
          if (i % 50 === 0) parts.unshift(files[(i / 50) % 5]!)
          return { id, role: 'user' as const, parts }
        }
        const parts: Record<string, unknown>[] = [
          { type: 'text', text: `Answer ${i}: the old town, the lake and the museum ${i}.` },
        ]
        if (i % 20 === 1) {
          parts.unshift(
            { type: 'step-start' },
            {
              type: 'tool-weather',
              toolCallId: `call-${i}`,
              state: 'output-available',
              input: { city: 'Zürich', day: i },
              output: { sky: 'clear', high: 12 + (i % 7) },
            },
            { type: 'step-start' },
          )
        }
        return { id, role: 'assistant' as const, parts }
      })
      const stored = await data.messages.saveUIMessages(chat.id, messages)
      for (const m of stored) seeded.push({ id: m.id, role: m.role })
      const [question] = await data.messages.saveUIMessages(chat.id, [
        { id: 'q', role: 'user', parts: [{ type: 'text', text: QUESTION }] },
      ])
      questionId = question!.id
      // A reply already streaming is not part of what the model is sent.
      const reply = await data.messages.startReply(chat.id)
      reply.update({ parts: [{ type: 'text', text: 'Your locker' }] })
      await reply.flush()
      await data.vectors.upsert(
        [...stored, question!].map((m) => ({
          userId: user.id,
          chatId: chat.id,
          messageId: m.id,
          content: m.content,
          embedding: embed(m.content),
        })),
      )
      // Another user's chat says much the same: none of it may ever appear.
      const other = await data.users.create({ email: uniqueEmail('other') })
      const theirs = await data.chats.create({ userId: other.id })
      const [foreign] = await data.messages.saveUIMessages(theirs.id, [
        { id: 'f', role: 'user', parts: [{ type: 'text', text: FOREIGN }] },
      ])
      await data.vectors.upsert([
        {
          userId: other.id,
          chatId: theirs.id,
          messageId: foreign!.id,
          content: FOREIGN,
          embedding: embed(FOREIGN),
        },
      ])
    }, 120_000)

    const options = (budget: number) => ({
      chatId: chat.id,
      userId: user.id,
      budget,
      system: SYSTEM,
      relevant: { text: QUESTION, embedding: embed(QUESTION) },
    })
    const build = (budget: number) => data.context.build(options(budget))

    it('fits every budget from 500 to 100,000 tokens exactly as counted, whole messages, the question always in, the planted fact found, nothing of another user', async () => {
      let previous = 0
      for (const budget of [500, 1000, 2000, 5000, 20_000, 100_000]) {
        const context = await build(budget)
        const label = `budget ${budget}`
        expect(countedHere(context), label).toBe(context.tokens.used)
        expect(context.tokens.used, label).toBeLessThanOrEqual(budget)
        expect(context.tokens.system + context.tokens.messages, label).toBe(context.tokens.used)
        // More budget never gives fewer messages.
        expect(context.messages.length, label).toBeGreaterThanOrEqual(previous)
        previous = context.messages.length

        // The question is the last message; the window begins with a user message.
        expect(context.included.at(-1)?.id, label).toBe(questionId)
        expect(context.messages[0]?.role, label).toBe('user')
        // Contiguous: the included messages are the newest of the branch, in order.
        const ids = context.included.map((m) => m.id)
        const newest = [...seeded.map((m) => m.id), questionId].slice(-ids.length)
        expect(ids, label).toEqual(newest)

        // The fact 400 messages back: in the window, or else among the relevant lines.
        const factInWindow = context.messages.some((m) =>
          JSON.stringify(m.parts).includes('locker code is 7319'),
        )
        const factRelevant = context.system?.includes('locker code is 7319') ?? false
        expect(factInWindow || factRelevant, label).toBe(true)
        expect(factInWindow && factRelevant, label).toBe(false)
        if (budget <= 5000) expect(factRelevant, label).toBe(true)
        const everything = JSON.stringify([context.system, context.messages, context.relevant])
        expect(everything, label).not.toContain('1111')
        expect(everything, label).not.toContain('locker 7')

        // Every tool call reaches the model with its result, and the SDK accepts it all.
        const model = await convertToModelMessages(
          (await data.context.build<UIMessage>(options(budget))).messages,
        )
        for (const message of model)
          expect(modelMessageSchema.safeParse(message).success).toBe(true)
        const calls = model.flatMap((m) =>
          m.role === 'assistant' && Array.isArray(m.content)
            ? m.content.filter((p) => p.type === 'tool-call').map((p) => p.toolCallId)
            : [],
        )
        const results = model.flatMap((m) =>
          m.role === 'tool'
            ? m.content.flatMap((p) => (p.type === 'tool-result' ? [p.toolCallId] : []))
            : [],
        )
        expect(results.sort(), label).toEqual(calls.sort())

        // Left out: the streaming reply, and the older messages for being over the budget.
        expect(context.excluded.find((e) => e.reason === 'streaming')).toBeDefined()
        if (budget < 100_000) {
          expect(
            context.excluded.some((e) => e.reason === 'over-budget'),
            label,
          ).toBe(true)
        }
        // Read to the first message, every message of the branch is accounted for.
        if (context.unreadFrom === null) {
          expect(context.included.length + context.excluded.length, label).toBe(502)
        } else {
          expect(budget, label).toBeLessThan(20_000)
        }
      }
      // The whole chat fits in 100,000: every message, nothing unread.
      const all = await build(100_000)
      expect(all.messages).toHaveLength(501)
      expect(all.unreadFrom).toBeNull()
      expect(all.relevant).toEqual([])
    })

    it("finds relevant messages in the user's other chats, and forgets a chat the user deleted", async () => {
      const other = await data.chats.create({ userId: user.id, title: 'house' })
      const KEY = 'The spare key is under the blue flowerpot by the door.'
      const [stored] = await data.messages.saveUIMessages(other.id, [
        { id: 'k', role: 'user', parts: [{ type: 'text', text: KEY }] },
      ])
      await data.vectors.upsert([
        {
          userId: user.id,
          chatId: other.id,
          messageId: stored!.id,
          content: KEY,
          embedding: embed(KEY),
        },
      ])
      const ask = () =>
        data.context.build({
          chatId: chat.id,
          userId: user.id,
          budget: 2000,
          relevant: {
            text: 'Where is the spare key?',
            embedding: embed('Where is the spare key?'),
          },
        })
      expect((await ask()).relevant.map((r) => r.messageId)).toContain(stored!.id)
      // Deleted softly: its vectors stay until a purge, but it is not remembered.
      await data.chats.softDelete(other.id)
      const after = await ask()
      expect(after.relevant.map((r) => r.messageId)).not.toContain(stored!.id)
      expect(after.system ?? '').not.toContain('flowerpot')
    })

    it('is the same for the same data and options', async () => {
      for (const budget of [700, 3000]) expect(await build(budget)).toEqual(await build(budget))
    })

    it('refuses a budget too small for the instructions and the question, another user, and bad options', async () => {
      const small = await failure(() => build(20))
      expect(small.code).toBe('VALIDATION')
      expect(small.message).toMatch(
        /budget.*system instructions \(\d+\) and the current turn \(\d+\)/,
      )
      // A counter given for the call is held to the same rule as the layer's.
      for (const count of [
        () => Number.NaN,
        () => {
          throw new Error('boom')
        },
      ]) {
        const refused = await failure(() =>
          data.context.build({ ...options(1000), counter: { name: 'bad', count } }),
        )
        expect(refused.code).toBe('CONFIG')
        expect(refused.message).toContain('tokens.counter "bad"')
      }
      const other = await data.users.create({ email: uniqueEmail('stranger') })
      const foreign = await failure(() =>
        data.context.build({ chatId: chat.id, userId: other.id, budget: 1000 }),
      )
      expect(foreign.code).toBe('NOT_FOUND')
      for (const bad of [
        { budget: 0 },
        { budget: 1.5 },
        { budget: Number.NaN },
        { chatId: 'nope' },
        { system: 42 },
        { relevant: { text: QUESTION, embedding: embed(QUESTION), share: 2 } },
        { fileTokens: -1 },
        { surprise: true },
      ]) {
        const refused = await failure(() =>
          data.context.build({ chatId: chat.id, userId: user.id, budget: 1000, ...bad } as never),
        )
        expect(refused.code, JSON.stringify(bad)).toBe('VALIDATION')
      }
    })
  })
}
