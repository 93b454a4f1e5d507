import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import type { DataLayer, MetadataFilter } from '../../src/index.js'
import { backends, backendTitle, uniqueEmail } from '../helpers/backends.js'
import { anyInput, anyText, propertyOptions, settle } from '../helpers/property.js'

// Issue #17: generated vector writes, search inputs and metadata filters. A search returns
// at most `limit` hits, all of the asking user, or fails with VALIDATION; an upsert stores
// exactly what it was given or nothing.

const DIMENSIONS = 384
const finite = fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 })
const goodEmbedding = fc.array(finite, { minLength: DIMENSIONS, maxLength: DIMENSIONS })
const anyEmbedding = fc.oneof(
  goodEmbedding,
  fc.array(fc.double(), { minLength: DIMENSIONS, maxLength: DIMENSIONS }),
  fc.array(finite, { maxLength: DIMENSIONS + 2 }),
  anyInput,
)

const jsonLeaf = fc.oneof(
  fc.string({ maxLength: 6 }),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
)
const key = fc.oneof(
  fc.constantFrom('source', 'page', 'lang'),
  anyText,
  fc.array(anyText, { maxLength: 3 }),
)
const filter: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ key, eq: jsonLeaf }),
    fc.record({ key, in: fc.array(jsonLeaf, { maxLength: 4 }) }),
    fc.record({ key, gte: fc.oneof(fc.integer(), fc.string({ maxLength: 3 })) }),
    fc.record({ key, exists: fc.boolean() }),
    fc.record({ and: fc.array(tie('node'), { maxLength: 3 }) }),
    fc.record({ or: fc.array(tie('node'), { maxLength: 3 }) }),
    fc.record({ not: tie('node') }),
    anyInput,
  ),
})).node

for (const backend of backends) {
  describe(`vector inputs, generated [${backendTitle(backend)}]`, () => {
    let data: DataLayer
    let userId: string
    let otherUserId: string
    const ownIds = new Set<string>()
    beforeAll(async () => {
      data = await backend.open({ embeddings: { dimensions: DIMENSIONS } })
      userId = (await data.users.create({ email: uniqueEmail() })).id
      otherUserId = (await data.users.create({ email: uniqueEmail() })).id
      const rng = fc.sample(goodEmbedding, { numRuns: 40, seed: 7 })
      const seeded = await data.vectors.upsert(
        rng.map((embedding, i) => ({
          userId: i % 2 === 0 ? userId : otherUserId,
          content: `chunk ${i}`,
          embedding,
          metadata: { source: i % 3 === 0 ? 'email' : 'chat', page: i, lang: i % 2 ? 'en' : 'de' },
        })),
      )
      seeded.forEach((row, i) => {
        if (i % 2 === 0) ownIds.add(row.id)
      })
    })

    const everything = () =>
      data.vectors.search({
        userId,
        embedding: new Array(DIMENSIONS).fill(1),
        limit: 1000,
        exactSearchBelow: 1_000_000,
      })

    it("searches with any inputs return the user's hits only, or VALIDATION", async () => {
      await fc.assert(
        fc.asyncProperty(
          anyEmbedding,
          fc.option(filter),
          fc.oneof(fc.integer({ min: 1, max: 20 }), anyInput),
          fc.option(fc.oneof(finite, anyInput)),
          async (embedding, metadataFilter, limit, minScore) => {
            const result = await settle(
              () =>
                data.vectors.search({
                  userId,
                  embedding: embedding as number[],
                  limit: limit as number,
                  ...(metadataFilter === null ? {} : { filter: metadataFilter as MetadataFilter }),
                  ...(minScore === null ? {} : { minScore: minScore as number }),
                }),
              ['VALIDATION'],
            )
            if (!result.ok) return
            expect(result.value.length).toBeLessThanOrEqual(limit as number)
            for (const hit of result.value) expect(ownIds.has(hit.id)).toBe(true)
          },
        ),
        propertyOptions(150),
      )
    })

    it('upserts of any shape store exactly what was given, or nothing', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.record({
              content: fc.oneof(fc.string({ maxLength: 20 }), anyText, anyInput),
              embedding: anyEmbedding,
              metadata: fc.option(
                fc.oneof(
                  fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 2 })),
                  anyInput,
                ),
                { nil: undefined },
              ),
            }),
            { minLength: 1, maxLength: 3 },
          ),
          async (items) => {
            const before = (await everything()).length
            const rows = items.map((item) => ({ userId, ...item }))
            const result = await settle(() => data.vectors.upsert(rows as never), ['VALIDATION'])
            const after = await everything()
            if (!result.ok) {
              expect(after.length).toBe(before)
              return
            }
            expect(after.length).toBe(before + items.length)
            const byId = new Map(after.map((hit) => [hit.id, hit]))
            result.value.forEach((row, i) => {
              expect(byId.get(row.id)?.content).toBe(items[i]!.content)
              expect(byId.get(row.id)?.metadata).toEqual(items[i]!.metadata ?? {})
            })
            await data.vectors.delete({ ids: result.value.map((row) => row.id) })
          },
        ),
        propertyOptions(60),
      )
    })
  })
}
