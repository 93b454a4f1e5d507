import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import type { DataLayer, User } from '../../src/index.js'
import { backends, uniqueEmail } from '../helpers/backends.js'
import { anyInput, anyText, propertyOptions, settle } from '../helpers/property.js'

// Issue #20, long-term memory: generated facts, keys, times and sequences of updates.

const DIMENSIONS = 4

describe('long-term memory, generated [pglite (embedded)]', () => {
  let data: DataLayer
  beforeAll(async () => {
    data = await backends[0]!.open({ embeddings: { dimensions: DIMENSIONS } })
  })

  it('stores any fact exactly as given or refuses it, storing nothing', async () => {
    const user: User = await data.users.create({ email: uniqueEmail() })
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string({ unit: 'grapheme', maxLength: 80 }), anyText, anyInput),
        fc.option(fc.oneof(fc.string({ maxLength: 30 }), anyInput), { nil: undefined }),
        fc.option(
          fc.oneof(
            fc.array(fc.double({ noNaN: false }), { minLength: DIMENSIONS, maxLength: DIMENSIONS }),
            anyInput,
          ),
          { nil: undefined },
        ),
        fc.option(fc.oneof(fc.date({ max: new Date() }), fc.date(), anyInput), { nil: undefined }),
        async (content, key, embedding, validFrom) => {
          const before = await data.memory.list({ userId: user.id })
          const outcome = await settle(
            () =>
              data.memory.remember({
                userId: user.id,
                content: content as string,
                ...(key === undefined ? {} : { key: key as string }),
                ...(embedding === undefined ? {} : { embedding: embedding as number[] }),
                ...(validFrom === undefined ? {} : { validFrom: validFrom as Date }),
              }),
            ['VALIDATION'],
          )
          const after = await data.memory.list({ userId: user.id })
          if (!outcome.ok) {
            expect(after).toEqual(before)
            return
          }
          expect(outcome.value.content).toBe(content)
          expect(outcome.value.key).toBe(key ?? null)
          expect(after.map((m) => m.id)).toContain(outcome.value.id)
          if (key !== undefined) {
            expect(after.filter((m) => m.key === key)).toHaveLength(1)
          }
        },
      ),
      propertyOptions(120),
    )
  })

  it('keeps, for any sequence of updates, one current fact per key (the last) and every version', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c'), fc.constantFrom('x', 'y', 'z', 'w')), {
          minLength: 1,
          maxLength: 12,
        }),
        async (updates) => {
          const user = await data.users.create({ email: uniqueEmail() })
          for (const [key, content] of updates) {
            await data.memory.remember({ userId: user.id, key, content })
          }
          for (const key of ['a', 'b', 'c']) {
            const mine = updates.filter(([k]) => k === key).map(([, c]) => c)
            const versions = mine.filter((c, i) => i === 0 || c !== mine[i - 1])
            const history = await data.memory.history({ userId: user.id, key })
            expect(history.map((m) => m.content)).toEqual(versions)
            expect((await data.memory.current({ userId: user.id, key }))?.content).toBe(
              versions.at(-1),
            )
            history.slice(0, -1).forEach((m, i) => {
              expect(m.supersededBy).toBe(history[i + 1]!.id)
              expect(m.invalidAt).toEqual(history[i + 1]!.validFrom)
            })
          }
        },
      ),
      propertyOptions(30),
    )
  })
})
