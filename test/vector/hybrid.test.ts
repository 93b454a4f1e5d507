import { sql } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import type { DataLayer, User } from '../../src/index.js'
import {
  vectorBackends as backends,
  backendTitle,
  embeddingFrom,
  uniqueEmail,
} from '../helpers/backends.js'
import { failure } from '../helpers/failure.js'

const DIMENSIONS = 384

const texts = [
  'The invoice for March is attached',
  'Meeting notes about the roadmap',
  'Please pay the invoices before Friday',
  'Holiday photos from the beach',
  'Roadmap review and invoice totals',
  'Lunch plans for next week',
]

for (const backend of backends) {
  describe(`hybrid search [${backendTitle(backend)}]`, () => {
    let data: DataLayer
    let alice: User
    let bob: User
    const ids: string[] = []

    beforeAll(async () => {
      data = await backend.open({ embeddings: { dimensions: DIMENSIONS } })
      alice = await data.users.create({ email: uniqueEmail('alice') })
      bob = await data.users.create({ email: uniqueEmail('bob') })
      const stored = await data.vectors.upsert(
        texts.map((content, i) => ({
          userId: alice.id,
          content,
          embedding: embeddingFrom(i + 1, DIMENSIONS),
          metadata: { i },
        })),
      )
      ids.push(...stored.map((s) => s.id))
      await data.vectors.upsert([
        {
          userId: bob.id,
          content: 'Bob has an invoice too',
          embedding: embeddingFrom(1, DIMENSIONS),
        },
      ])
    })

    it('fuses full-text and vector ranks: a chunk found by both comes first', async () => {
      // The embedding is item 4's ("Roadmap review and invoice totals"), which also matches the text.
      const hits = await data.vectors.hybridSearch({
        userId: alice.id,
        text: 'invoice',
        embedding: embeddingFrom(5, DIMENSIONS),
        limit: 6,
      })
      const both = hits.filter((h) => h.textRank !== null && h.vectorRank !== null)
      expect(both.map((h) => h.id)).toContain(ids[4])
      expect(hits.find((h) => h.id === ids[4])?.vectorRank).toBe(1)
      // Found by both lists beats found by one.
      expect(hits.slice(0, both.length)).toEqual(both)
      // Stemming (english): "invoices" matches "invoice".
      const textMatched = hits
        .filter((h) => h.textRank !== null)
        .map((h) => h.id)
        .sort()
      expect(textMatched).toEqual([ids[0], ids[2], ids[4]].sort())
      for (let i = 1; i < hits.length; i++)
        expect(hits[i]!.score).toBeLessThanOrEqual(hits[i - 1]!.score)
      const k = 60
      for (const hit of hits) {
        const expected =
          (hit.vectorRank ? 1 / (k + hit.vectorRank) : 0) +
          (hit.textRank ? 1 / (k + hit.textRank) : 0)
        expect(hit.score).toBeCloseTo(expected, 12)
      }
    })

    it('follows the weights, and never returns another user’s rows', async () => {
      const textOnly = await data.vectors.hybridSearch({
        userId: alice.id,
        text: 'roadmap',
        embedding: embeddingFrom(4, DIMENSIONS),
        weights: { vector: 0 },
        limit: 2,
      })
      expect(textOnly.map((h) => h.id).sort()).toEqual([ids[1], ids[4]].sort())
      const vectorOnly = await data.vectors.hybridSearch({
        userId: alice.id,
        text: 'roadmap',
        embedding: embeddingFrom(4, DIMENSIONS),
        weights: { text: 0 },
        limit: 1,
      })
      expect(vectorOnly[0]!.id).toBe(ids[3])
      const all = await data.vectors.hybridSearch({
        userId: alice.id,
        text: 'invoice',
        embedding: embeddingFrom(1, DIMENSIONS),
        limit: 50,
      })
      expect(all.some((h) => h.content.startsWith('Bob'))).toBe(false)
    })

    it('takes hostile text as words, and refuses bad options', async () => {
      const before = (
        await data.db.execute<{ n: number }>(sql`select count(*)::int as n from chat_vectors`)
      ).rows[0]!.n
      for (const text of [
        "'; drop table chat_vectors; --",
        '!&|():*',
        '"unterminated',
        'invoice -march or lunch',
      ]) {
        const hits = await data.vectors.hybridSearch({
          userId: alice.id,
          text,
          embedding: embeddingFrom(9, DIMENSIONS),
        })
        expect(Array.isArray(hits)).toBe(true)
      }
      const after = (
        await data.db.execute<{ n: number }>(sql`select count(*)::int as n from chat_vectors`)
      ).rows[0]!.n
      expect(after).toBe(before)
      const embedding = embeddingFrom(1, DIMENSIONS)
      for (const bad of [
        { text: '' },
        { text: 'x', rrfK: 0 },
        { text: 'x', weights: { vector: -1 } },
      ]) {
        expect(
          await failure(() => data.vectors.hybridSearch({ userId: alice.id, embedding, ...bad })),
          JSON.stringify(bad),
        ).toMatchObject({ code: 'VALIDATION' })
      }
      expect(
        await failure(() => data.vectors.hybridSearch({ text: 'x', embedding })),
      ).toMatchObject({
        code: 'VALIDATION',
      })
    })
  })

  describe(`hybrid search in another language [${backendTitle(backend)}]`, () => {
    it("uses the configured text search configuration ('simple': no stemming)", async () => {
      const data = await backend.openEmpty({
        embeddings: { dimensions: DIMENSIONS, fullTextLanguage: 'simple' },
      })
      await data.migrate()
      const user = await data.users.create({ email: uniqueEmail('simple') })
      await data.vectors.upsert([
        {
          userId: user.id,
          content: 'Please pay the invoices',
          embedding: embeddingFrom(1, DIMENSIONS),
        },
      ])
      const plural = await data.vectors.hybridSearch({
        userId: user.id,
        text: 'invoices',
        embedding: embeddingFrom(2, DIMENSIONS),
      })
      expect(plural[0]!.textRank).toBe(1)
      const singular = await data.vectors.hybridSearch({
        userId: user.id,
        text: 'invoice',
        embedding: embeddingFrom(2, DIMENSIONS),
      })
      expect(singular[0]!.textRank).toBeNull()
    })
  })
}
