import { beforeAll, describe, expect, it } from 'vitest'
import type { DataLayer, User } from '../../src/index.js'
import { wordHashEmbedding } from '../../src/testing/synthetic-vectors.js'
import { backends, backendTitle, uniqueEmail } from '../helpers/backends.js'
import { failure } from '../helpers/failure.js'

// Issue #20, item 5: long-term memory with validity times.

const DIMENSIONS = 64
const embed = (text: string) => wordHashEmbedding(text, DIMENSIONS)
const CITIES = ['Zürich', 'Basel', 'Bern', 'Geneva']
const at = (day: number) => new Date(Date.UTC(2026, 0, 1 + day))

for (const backend of backends) {
  describe(`long-term memory [${backendTitle(backend)}]`, () => {
    let data: DataLayer
    let user: User
    let other: User

    beforeAll(async () => {
      data = await backend.open({ embeddings: { dimensions: DIMENSIONS } })
      user = await data.users.create({ email: uniqueEmail('memory') })
      other = await data.users.create({ email: uniqueEmail('memory-other') })
    })

    it('keeps a fact superseded three times: search finds the current one, history all four', async () => {
      const facts = []
      for (const [i, city] of CITIES.entries()) {
        // The cached list is read between writes: each write must show in the next read.
        expect((await data.memory.current({ userId: user.id, key: 'home_city' }))?.content).toBe(
          i === 0 ? undefined : `The user lives in ${CITIES[i - 1]}.`,
        )
        facts.push(
          await data.memory.remember({
            userId: user.id,
            key: 'home_city',
            content: `The user lives in ${city}.`,
            embedding: embed(`lives in ${city}`),
            validFrom: at(i * 10),
          }),
        )
      }
      await data.memory.remember({
        userId: user.id,
        key: 'diet',
        content: 'The user is vegetarian.',
        embedding: embed('vegetarian food diet'),
      })
      const history = await data.memory.history({ userId: user.id, key: 'home_city' })
      expect(history.map((m) => m.content)).toEqual(CITIES.map((c) => `The user lives in ${c}.`))
      expect(history.map((m) => m.validFrom)).toEqual([at(0), at(10), at(20), at(30)])
      expect(history.map((m) => m.invalidAt)).toEqual([at(10), at(20), at(30), null])
      expect(history.map((m) => m.supersededBy)).toEqual([
        facts[1]!.id,
        facts[2]!.id,
        facts[3]!.id,
        null,
      ])

      const current = await data.memory.search({
        userId: user.id,
        embedding: embed('the user lives in which city'),
      })
      expect(current.map((m) => m.content)).toEqual([
        'The user lives in Geneva.',
        'The user is vegetarian.',
      ])
      expect(current[0]!.score).toBeGreaterThan(current[1]!.score)
      const byKey = await data.memory.search({ userId: user.id, key: 'home_city' })
      expect(byKey.map((m) => m.content)).toEqual(['The user lives in Geneva.'])
      // Back in time: what held on day 15.
      const then = await data.memory.search({ userId: user.id, key: 'home_city', at: at(15) })
      expect(then.map((m) => m.content)).toEqual(['The user lives in Basel.'])
      const words = await data.memory.search({ userId: user.id, text: 'vegetarian' })
      expect(words.map((m) => m.content)).toEqual(['The user is vegetarian.'])

      // The same content again is no new version.
      const again = await data.memory.remember({
        userId: user.id,
        key: 'home_city',
        content: 'The user lives in Geneva.',
      })
      expect(again.id).toBe(facts[3]!.id)
      expect(await data.memory.history({ userId: user.id, key: 'home_city' })).toHaveLength(4)
    })

    it('forgets a fact without deleting it, and never shows one user another user’s facts', async () => {
      const fact = await data.memory.remember({
        userId: user.id,
        content: 'Allergic to peanuts.',
        embedding: embed('peanut allergy'),
      })
      expect(await data.memory.forget({ userId: other.id, id: fact.id })).toBe(false)
      expect(
        (await data.memory.search({ userId: other.id, embedding: embed('peanut allergy') })).length,
      ).toBe(0)
      expect((await data.memory.list({ userId: user.id })).map((m) => m.id)).toContain(fact.id)
      expect(await data.memory.forget({ userId: user.id, id: fact.id })).toBe(true)
      expect(await data.memory.forget({ userId: user.id, id: fact.id })).toBe(false)
      expect((await data.memory.list({ userId: user.id })).map((m) => m.id)).not.toContain(fact.id)
      const [ended] = await data.memory.search({
        userId: user.id,
        text: 'peanuts',
        at: fact.validFrom,
      })
      expect(ended?.id).toBe(fact.id)
    })

    it('keeps one current fact per key when writers race, every version in history', async () => {
      const key = 'favourite_colour'
      const colours = ['red', 'green', 'blue', 'amber', 'teal', 'plum']
      await Promise.all(
        colours.map((c) => data.memory.remember({ userId: user.id, key, content: `Likes ${c}.` })),
      )
      const history = await data.memory.history({ userId: user.id, key })
      expect(history.map((m) => m.content).sort()).toEqual(colours.map((c) => `Likes ${c}.`).sort())
      expect(history.filter((m) => m.invalidAt === null)).toHaveLength(1)
      expect(history.at(-1)!.invalidAt).toBeNull()
      history.slice(0, -1).forEach((m, i) => {
        expect(m.supersededBy).toBe(history[i + 1]!.id)
      })
      expect((await data.memory.current({ userId: user.id, key }))?.id).toBe(history.at(-1)!.id)
    })

    it('refuses bad input with a code that says what to fix, storing nothing', async () => {
      const before = (await data.memory.list({ userId: user.id })).length
      const cases: [unknown, string][] = [
        [{ userId: user.id, content: '  ' }, 'VALIDATION'],
        [{ userId: user.id, content: 'x'.repeat(10_001) }, 'VALIDATION'],
        [{ userId: user.id, content: 'ok', embedding: [1, 2] }, 'VALIDATION'],
        [
          { userId: user.id, content: 'ok', embedding: Array(DIMENSIONS).fill(Number.NaN) },
          'VALIDATION',
        ],
        [
          { userId: user.id, content: 'ok', validFrom: new Date(Date.now() + 3_600_000) },
          'VALIDATION',
        ],
        [{ userId: user.id, content: 'ok', key: 'home_city', validFrom: at(1) }, 'VALIDATION'],
        [{ userId: user.id, content: 'ok', validFrom: new Date(Number.NaN) }, 'VALIDATION'],
        [{ userId: 'nope', content: 'ok' }, 'VALIDATION'],
        [{ userId: '00000000-0000-4000-8000-000000000000', content: 'ok' }, 'NOT_FOUND'],
        [{ userId: user.id, content: 'ok', extra: 1 }, 'VALIDATION'],
      ]
      for (const [input, code] of cases) {
        const error = await failure(() => data.memory.remember(input as never))
        expect(error.code, JSON.stringify(input).slice(0, 80)).toBe(code)
      }
      expect((await data.memory.list({ userId: user.id })).length).toBe(before)
    })

    it('puts the current facts nearest the new message into the built context', async () => {
      const chat = await data.chats.create({ userId: user.id })
      await data.messages.saveUIMessages(chat.id, [
        { id: 'q', role: 'user', parts: [{ type: 'text', text: 'Which train to my home city?' }] },
      ])
      const built = await data.context.build({
        chatId: chat.id,
        userId: user.id,
        budget: 2000,
        relevant: {
          text: 'train to home city',
          embedding: embed('the user lives in which city'),
          memories: 1,
        },
      })
      expect(built.memories.map((m) => m.content)).toEqual(['The user lives in Geneva.'])
      expect(built.system).toBe('Known about the user:\n- The user lives in Geneva.')
      expect(built.tokens.memories).toBe(built.tokens.system)
      const none = await data.context.build({
        chatId: chat.id,
        userId: user.id,
        budget: 2000,
        relevant: { text: 'x', embedding: embed('the user lives in which city'), memories: 0 },
      })
      expect(none.memories).toEqual([])
    })

    it('embeds facts with embedOnWrite.embed when no embedding is given, and searches text by meaning', async () => {
      const layer = await backend.open({
        embeddings: { dimensions: DIMENSIONS },
        embedOnWrite: { embed: async (texts) => texts.map(embed), worker: false },
      })
      const owner = await layer.users.create({ email: uniqueEmail() })
      await layer.memory.remember({ userId: owner.id, key: 'pet', content: 'Has a dog named Rex.' })
      await layer.memory.remember({ userId: owner.id, key: 'job', content: 'Works as a nurse.' })
      const [hit] = await layer.memory.search({ userId: owner.id, text: 'dog named' })
      expect(hit?.content).toBe('Has a dog named Rex.')
      await layer.close()
    })
  })
}
