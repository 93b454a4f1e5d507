import { beforeAll, describe, expect, it } from 'vitest'
import type { DataLayer, TokenCounter, User } from '../../src/index.js'
import { createDataLayer } from '../../src/index.js'
import { backends, backendTitle, uniqueEmail } from '../helpers/backends.js'
import { failure } from '../helpers/failure.js'
import { o200k } from '../helpers/tokens.js'

// Issue #20, item 1: every message part gets a token count when it is written.

const words: TokenCounter = {
  name: 'words',
  count: (text) => text.split(/\s+/).filter(Boolean).length,
}

for (const backend of backends) {
  describe(`token counts of stored messages [${backendTitle(backend)}]`, () => {
    let data: DataLayer
    let user: User
    beforeAll(async () => {
      data = await backend.open()
      user = await data.users.create({ email: uniqueEmail('tokens') })
    })
    const newChat = () => data.chats.create({ userId: user.id, title: 'tokens' })

    it('counts each part as the model is given it, by o200k_base unless told otherwise', async () => {
      const chat = await newChat()
      const plain = await data.messages.append({
        chatId: chat.id,
        role: 'user',
        content: 'What is the weather in Zürich? <|endoftext|> is just text here.',
      })
      expect(plain).toMatchObject({
        tokenCounter: 'o200k_base',
        partTokens: [o200k(plain.content)],
        tokens: o200k(plain.content),
      })

      const input = { city: 'Zürich', units: 'metric' }
      const output = { temperature: 4, sky: 'overcast' }
      const [reply] = await data.messages.saveUIMessages(chat.id, [
        {
          id: 'a1',
          role: 'assistant',
          parts: [
            { type: 'step-start' },
            { type: 'reasoning', text: 'The user wants the weather.' },
            {
              type: 'tool-weather',
              toolCallId: 'call-1',
              state: 'output-available',
              input,
              output,
            },
            { type: 'source-url', sourceId: 's1', url: 'https://example.com/w', title: 'W' },
            {
              type: 'file',
              mediaType: 'image/png',
              url: 'https://example.com/map.png',
              filename: 'map.png',
            },
            { type: 'data-forecast', data: { days: [1, 2, 3] } },
            { type: 'text', text: 'It is 4 °C and overcast in Zürich.' },
          ],
        },
      ])
      const expected = [
        0,
        o200k('The user wants the weather.'),
        o200k(['weather', JSON.stringify(input), JSON.stringify(output), '', ''].join('\n')),
        0,
        o200k('map.png\nimage/png'),
        o200k(JSON.stringify({ days: [1, 2, 3] })),
        o200k('It is 4 °C and overcast in Zürich.'),
      ]
      expect(reply!.partTokens).toEqual(expected)
      expect(reply!.tokens).toBe(expected.reduce((a, b) => a + b, 0))
      expect(await data.messages.findById(reply!.id)).toMatchObject({
        partTokens: expected,
        tokenCounter: 'o200k_base',
      })
    })

    it('recounts what a write changes: a re-saved message, new content, never metadata alone', async () => {
      const chat = await newChat()
      const [first] = await data.messages.saveUIMessages(chat.id, [
        { id: 'u1', role: 'user', parts: [{ type: 'text', text: 'short' }] },
      ])
      expect(first!.tokens).toBe(o200k('short'))
      const longer = 'a much longer question about tokens and budgets'
      const [again] = await data.messages.saveUIMessages(chat.id, [
        { id: 'u1', role: 'user', parts: [{ type: 'text', text: longer }] },
      ])
      expect(again).toMatchObject({
        id: first!.id,
        tokens: o200k(longer),
        partTokens: [o200k(longer)],
      })

      const plain = await data.messages.append({
        chatId: chat.id,
        role: 'user',
        content: 'one two',
      })
      const edited = await data.messages.update(plain.id, { content: 'one two three four' })
      expect(edited.tokens).toBe(o200k('one two three four'))
      const tagged = await data.messages.update(edited.id, { metadata: { seen: true } })
      expect(tagged).toMatchObject({ tokens: edited.tokens, partTokens: edited.partTokens })
      // Content given to a message with parts is their text: its part counts stay.
      const withParts = await data.messages.update(first!.id, { content: longer })
      expect(withParts).toMatchObject({ tokens: o200k(longer), partTokens: [o200k(longer)] })

      const many = await data.messages.appendMany([
        { chatId: chat.id, role: 'user', content: 'x y z' },
        { chatId: chat.id, role: 'assistant', content: '' },
      ])
      expect(many.map((m) => m.partTokens)).toEqual([[o200k('x y z')], [0]])
    })

    it('leaves a streaming reply uncounted, and counts it with its final parts when it ends', async () => {
      const chat = await newChat()
      const reply = await data.messages.startReply(chat.id, { model: 'mock-1' })
      reply.update({ parts: [{ type: 'text', text: 'Once upon' }] })
      await reply.flush()
      expect(await data.messages.findById(reply.messageId)).toMatchObject({
        status: 'streaming',
        tokens: null,
        partTokens: null,
        tokenCounter: null,
      })
      const usage = { inputTokens: 12, outputTokens: 5, totalTokens: 17 }
      const done = await reply.finish({ usage })
      expect(done).toMatchObject({
        usage,
        tokens: o200k('Once upon'),
        partTokens: [o200k('Once upon')],
        tokenCounter: 'o200k_base',
      })

      const stopped = await data.messages.startReply(chat.id)
      stopped.update({ parts: [{ type: 'text', text: 'Half a' }] })
      const aborted = await stopped.abort({ parts: [{ type: 'text', text: 'Half a sentence' }] })
      expect(aborted).toMatchObject({ status: 'aborted', tokens: o200k('Half a sentence') })
    })

    it('refuses token columns from callers: the library keeps them', async () => {
      const chat = await newChat()
      const refused = await failure(() =>
        data.messages.append({ chatId: chat.id, role: 'user', content: 'hi', tokens: 1 } as never),
      )
      expect(refused.code).toBe('VALIDATION')
    })
  })
}

describe('a counter of your own', () => {
  it("stores its name with its counts, and a counter's bad count is CONFIG with nothing written", async () => {
    let bad: number | undefined
    const counter: TokenCounter = {
      name: 'words',
      count: (text) => {
        if (bad === -2) throw new Error('the counter broke')
        return bad ?? words.count(text)
      },
    }
    const data = await backends[0]!.open({ tokens: { counter } })
    const user = await data.users.create({ email: uniqueEmail('words') })
    const chat = await data.chats.create({ userId: user.id })
    const message = await data.messages.append({
      chatId: chat.id,
      role: 'user',
      content: 'three little words',
    })
    expect(message).toMatchObject({ tokens: 3, partTokens: [3], tokenCounter: 'words' })

    for (bad of [Number.NaN, -1, 1.5, Number.POSITIVE_INFINITY, -2]) {
      const refused = await failure(() =>
        data.messages.append({ chatId: chat.id, role: 'user', content: 'hello' }),
      )
      expect(refused.code).toBe('CONFIG')
      expect(refused.message).toContain(
        bad === -2
          ? 'tokens.counter "words" threw (Error)'
          : `tokens.counter "words" returned ${bad}`,
      )
    }
    expect((await data.messages.findMany({ where: { chatId: chat.id } })).length).toBe(1)
  })

  it('is checked when the layer is made: a name and a count function', async () => {
    for (const counter of [
      { name: 'has spaces', count: () => 1 },
      { name: '', count: () => 1 },
      { name: 'x'.repeat(65), count: () => 1 },
      { name: 'no-count' },
      'o200k_base',
    ]) {
      const refused = await failure(() => createDataLayer({ tokens: { counter } as never }))
      expect(refused.code).toBe('CONFIG')
      expect(refused.message).toContain('tokens.counter')
    }
  })
})
