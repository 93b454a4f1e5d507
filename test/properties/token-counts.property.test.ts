import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Chat, DataLayer } from '../../src/index.js'
import { backends, uniqueEmail } from '../helpers/backends.js'
import { propertyOptions, settle } from '../helpers/property.js'
import { o200k } from '../helpers/tokens.js'

// Issue #20, token accounting: generated messages. Every stored message has one count per
// part, each what o200k_base gives the part's model text, and their sum; a counter's answer
// is stored exactly or refused with CONFIG, writing nothing.

// Any text that can be stored, special-token markers and surrogate pairs included.
const text = fc
  .oneof(
    fc.string({ unit: 'grapheme', maxLength: 60 }),
    fc.constantFrom('<|endoftext|>', '<|im_start|>user', '<|fim_prefix|>x', '🙂🙂🙂', '\n\n\t'),
  )
  .filter((s) => !s.includes('\u0000'))
const json = fc
  .jsonValue({ maxDepth: 2 })
  .filter((v) => !/\\u0000|"__proto__"/.test(JSON.stringify(v)))

const part = fc.oneof(
  text.map((t) => ({ part: { type: 'text', text: t }, model: t })),
  text.map((t) => ({ part: { type: 'reasoning', text: t }, model: t })),
  fc.tuple(fc.stringMatching(/^[a-z]{1,12}$/), json, json).map(([name, input, output]) => ({
    part: { type: `tool-${name}`, toolCallId: 'c1', state: 'output-available', input, output },
    model: [name, JSON.stringify(input), JSON.stringify(output), '', ''].join('\n'),
  })),
  json.map((data) => ({ part: { type: 'data-x', data }, model: JSON.stringify(data) })),
  fc.constant({ part: { type: 'step-start' }, model: '' }),
)

describe('token counts, generated [pglite (embedded)]', () => {
  let data: DataLayer
  let chat: Chat
  beforeAll(async () => {
    data = await backends[0]!.open()
    const user = await data.users.create({ email: uniqueEmail() })
    chat = await data.chats.create({ userId: user.id })
  })

  it('are one per part, each the count of its model text, and their sum', async () => {
    let n = 0
    await fc.assert(
      fc.asyncProperty(fc.array(part, { maxLength: 6 }), async (parts) => {
        const [row] = await data.messages.saveUIMessages(chat.id, [
          { id: `m${n++}`, role: 'assistant', parts: parts.map((p) => p.part) },
        ])
        const expected = parts.map((p) => o200k(p.model))
        expect(row!.partTokens).toEqual(expected)
        expect(row!.tokens).toBe(expected.reduce((a, b) => a + b, 0))
        expect(row!.tokenCounter).toBe('o200k_base')
      }),
      propertyOptions(60),
    )
  })

  it("store a counter's whole, non-negative answers exactly and refuse every other answer", async () => {
    let answer: unknown = 0
    const layer = await backends[0]!.open({
      tokens: { counter: { name: 'generated', count: () => answer as number } },
    })
    const user = await layer.users.create({ email: uniqueEmail() })
    const own = await layer.chats.create({ userId: user.id })
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.nat(),
          fc.integer(),
          fc.double(),
          fc.constantFrom(Number.NaN, null, '3', 2 ** 53),
        ),
        async (given) => {
          answer = given
          const before = (await layer.messages.findMany({ where: { chatId: own.id } })).length
          const outcome = await settle(
            () => layer.messages.append({ chatId: own.id, role: 'user', content: 'x' }),
            ['CONFIG'],
          )
          const whole = typeof given === 'number' && Number.isSafeInteger(given) && given >= 0
          expect(outcome.ok).toBe(whole)
          // Numerically equal (a counter's -0 is stored as 0).
          if (outcome.ok) expect(outcome.value.tokens === given).toBe(true)
          const after = (await layer.messages.findMany({ where: { chatId: own.id } })).length
          expect(after).toBe(before + (whole ? 1 : 0))
        },
      ),
      propertyOptions(60),
    )
  })
})
