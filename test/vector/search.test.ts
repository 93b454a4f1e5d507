import { sql } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import type { DataLayer, DistanceMetric, MetadataFilter, User } from '../../src/index.js'
import {
  vectorBackends as backends,
  backendTitle,
  embeddingFrom,
  uniqueEmail,
} from '../helpers/backends.js'
import { failure } from '../helpers/failure.js'

const DIMENSIONS = 384
const ROWS = 300

/** The exact ranking, computed here without the database. */
function exactRanking(
  query: number[],
  rows: { id: string; embedding: number[] }[],
  metric: DistanceMetric,
): string[] {
  const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0)
  const norm = (a: number[]) => Math.sqrt(dot(a, a))
  const distance = (e: number[]) =>
    metric === 'cosine'
      ? 1 - dot(e, query) / (norm(e) * norm(query))
      : metric === 'l2'
        ? Math.sqrt(e.reduce((s, x, i) => s + (x - query[i]!) ** 2, 0))
        : -dot(e, query)
  return rows
    .map((r) => ({ id: r.id, d: distance(r.embedding) }))
    .sort((a, b) => a.d - b.d)
    .map((r) => r.id)
}

const hostile = [
  "'; DROP TABLE chat_vectors; --",
  'a"b\\c',
  'ключ 🔑',
  '$.x[0]',
  '->>',
  '{a,b}',
  '%_*',
]

for (const backend of backends) {
  describe(`vector search [${backendTitle(backend)}]`, () => {
    let data: DataLayer
    let alice: User
    let bob: User
    const rows: {
      id: string
      userId: string
      embedding: number[]
      metadata: Record<string, unknown>
    }[] = []

    beforeAll(async () => {
      data = await backend.open({ embeddings: { dimensions: DIMENSIONS } })
      alice = await data.users.create({ email: uniqueEmail('alice') })
      bob = await data.users.create({ email: uniqueEmail('bob') })
      const items = Array.from({ length: ROWS }, (_, i) => ({
        userId: i % 3 === 0 ? bob.id : alice.id,
        content: `chunk ${i}`,
        embedding: embeddingFrom(i + 1, DIMENSIONS),
        metadata: {
          i,
          kind: ['note', 'mail', 'chat'][i % 3]!,
          page: i % 10,
          day: `2026-01-${String((i % 28) + 1).padStart(2, '0')}`,
          ...(i % 5 === 0 ? { flagged: true } : {}),
          ...(i % 7 === 0 ? { nested: { author: { name: i % 2 ? 'ann' : 'bo' } } } : {}),
          ...(i < hostile.length ? { [hostile[i]!]: hostile[i]! } : {}),
        },
      }))
      const stored = await data.vectors.upsert(items)
      stored.forEach((s, i) => {
        rows.push({
          id: s.id,
          userId: items[i]!.userId,
          embedding: items[i]!.embedding,
          metadata: items[i]!.metadata,
        })
      })
    })

    const aliceRows = () => rows.filter((r) => r.userId === alice.id)

    for (const metric of ['cosine', 'l2', 'inner_product'] as const) {
      it(`ranks exactly by ${metric}, through the exact path and through the index`, async () => {
        const query = embeddingFrom(10_001, DIMENSIONS)
        const truth = exactRanking(query, aliceRows(), metric).slice(0, 10)
        const exact = await data.vectors.search({
          userId: alice.id,
          embedding: query,
          metric,
          explain: true,
        })
        expect(exact.plan.path).toBe('exact')
        expect(exact.hits.map((h) => h.id)).toEqual(truth)
        const viaIndex = await data.vectors.search({
          userId: alice.id,
          embedding: query,
          metric,
          exactSearchBelow: 0,
          explain: true,
        })
        expect(viaIndex.plan.path).toBe('index')
        expect(viaIndex.hits).toHaveLength(10)
        expect(viaIndex.hits.map((h) => h.id)).toEqual(truth)
        for (let i = 1; i < 10; i++) {
          expect(viaIndex.hits[i]!.score).toBeLessThanOrEqual(viaIndex.hits[i - 1]!.score)
        }
      })
    }

    it('pages with offset and cuts at minScore without losing the nearest', async () => {
      const query = embeddingFrom(20_002, DIMENSIONS)
      const first = await data.vectors.search({ userId: alice.id, embedding: query, limit: 20 })
      const second = await data.vectors.search({
        userId: alice.id,
        embedding: query,
        limit: 10,
        offset: 10,
      })
      expect(second.map((h) => h.id)).toEqual(first.slice(10).map((h) => h.id))
      const cut = first[4]!.score
      const above = await data.vectors.search({
        userId: alice.id,
        embedding: query,
        limit: 20,
        minScore: cut,
      })
      expect(above.map((h) => h.id)).toEqual(first.filter((h) => h.score >= cut).map((h) => h.id))
      expect(above.length).toBeGreaterThanOrEqual(5)
    })

    it('never returns another user’s rows, whatever the filter says', async () => {
      const escapes: MetadataFilter[] = [
        {
          or: [
            { key: 'i', exists: true },
            { key: 'i', exists: false },
          ],
        },
        { not: { key: 'kind', eq: 'nothing' } },
        { key: "') or true or ('", eq: 1 },
        { or: [{ key: 'i', gte: 0 }, { not: { key: 'i', gte: 0 } }] },
      ]
      for (const filter of escapes) {
        const hits = await data.vectors.search({
          userId: alice.id,
          embedding: embeddingFrom(3, DIMENSIONS),
          filter,
          limit: 1000,
        })
        const bobs = new Set(rows.filter((r) => r.userId === bob.id).map((r) => r.id))
        expect(hits.some((h) => bobs.has(h.id))).toBe(false)
      }
    })

    it('filters by metadata: eq, in, ranges, exists, nested paths, and/or/not', async () => {
      const check = async (
        filter: MetadataFilter,
        expected: (m: Record<string, unknown>) => boolean,
      ) => {
        const hits = await data.vectors.search({
          userId: alice.id,
          embedding: embeddingFrom(7, DIMENSIONS),
          filter,
          limit: 1000,
        })
        const want = aliceRows()
          .filter((r) => expected(r.metadata))
          .map((r) => r.id)
          .sort()
        expect(hits.map((h) => h.id).sort(), JSON.stringify(filter)).toEqual(want)
      }
      await check({ key: 'kind', eq: 'mail' }, (m) => m.kind === 'mail')
      await check({ key: 'page', eq: 3 }, (m) => m.page === 3)
      await check({ key: 'page', eq: '3' }, () => false) // JSON equality: a string is not a number
      await check(
        { key: 'kind', in: ['mail', 'chat'] },
        (m) => m.kind === 'mail' || m.kind === 'chat',
      )
      await check(
        { key: 'page', gte: 3, lt: 6 },
        (m) => (m.page as number) >= 3 && (m.page as number) < 6,
      )
      await check({ key: 'day', gt: '2026-01-20' }, (m) => (m.day as string) > '2026-01-20')
      await check({ key: 'kind', gt: 3 }, () => false) // strings never match numeric bounds
      await check({ key: 'flagged', exists: true }, (m) => 'flagged' in m)
      await check({ key: 'flagged', exists: false }, (m) => !('flagged' in m))
      await check({ key: ['nested', 'author', 'name'], eq: 'ann' }, (m) => {
        const n = m.nested as { author: { name: string } } | undefined
        return n?.author.name === 'ann'
      })
      await check(
        { and: [{ key: 'kind', eq: 'note' }, { not: { key: 'flagged', eq: true } }] },
        (m) => m.kind === 'note' && m.flagged !== true,
      )
      await check(
        {
          or: [
            { key: 'page', eq: 1 },
            {
              and: [
                { key: 'page', eq: 2 },
                { key: 'kind', eq: 'chat' },
              ],
            },
          ],
        },
        (m) => m.page === 1 || (m.page === 2 && m.kind === 'chat'),
      )
    })

    it('treats hostile keys and values as data, and changes nothing', async () => {
      const before = (
        await data.db.execute<{ n: number }>(sql`select count(*)::int as n from chat_vectors`)
      ).rows[0]!.n
      for (const text of hostile) {
        const hits = await data.vectors.search({
          scope: 'all',
          embedding: embeddingFrom(1, DIMENSIONS),
          filter: { key: text, eq: text },
          limit: 1000,
        })
        expect(hits.map((h) => h.metadata[text])).toEqual([text])
        const none = await data.vectors.search({
          scope: 'all',
          embedding: embeddingFrom(1, DIMENSIONS),
          filter: { key: [text, text], in: [text, `${text}'`] },
        })
        expect(none).toEqual([])
      }
      const after = (
        await data.db.execute<{ n: number }>(sql`select count(*)::int as n from chat_vectors`)
      ).rows[0]!.n
      expect(after).toBe(before)
    })

    it('returns exactly k when a selective filter leaves at least k rows', async () => {
      const filter: MetadataFilter = { key: 'page', eq: 4 } // 20 of alice's 200 rows
      for (const exactSearchBelow of [2000, 0]) {
        const result = await data.vectors.search({
          userId: alice.id,
          embedding: embeddingFrom(99_999, DIMENSIONS),
          filter,
          limit: 10,
          exactSearchBelow,
          explain: true,
        })
        expect(result.hits).toHaveLength(10)
        expect(result.hits.every((h) => h.metadata.page === 4)).toBe(true)
        expect(result.plan.path).toBe(exactSearchBelow ? 'exact' : 'index')
      }
    })

    it('refuses a search without a tenant, bad filters and bad numbers, naming them', async () => {
      const embedding = embeddingFrom(1, DIMENSIONS)
      expect(await failure(() => data.vectors.search({ embedding }))).toMatchObject({
        code: 'VALIDATION',
      })
      expect(
        await failure(() => data.vectors.search({ embedding, userId: alice.id, scope: 'all' })),
      ).toMatchObject({ code: 'VALIDATION' })
      for (const bad of [
        { key: '', eq: 1 },
        { key: 'x', eq: Number.NaN },
        { key: 'x' },
        { key: 'x', gt: {} },
        { and: [] },
        { key: 'x', eq: 1, drop: true },
      ]) {
        const error = await failure(() =>
          data.vectors.search({ embedding, userId: alice.id, filter: bad as MetadataFilter }),
        )
        expect(error, JSON.stringify(bad)).toMatchObject({ code: 'VALIDATION' })
      }
      const deep = Array.from({ length: 12 }).reduce<MetadataFilter>((f) => ({ not: f }), {
        key: 'x',
        eq: 1,
      })
      expect(
        await failure(() => data.vectors.search({ embedding, userId: alice.id, filter: deep })),
      ).toMatchObject({
        code: 'VALIDATION',
      })
      expect(
        await failure(() =>
          data.vectors.search({ embedding: embedding.slice(1), userId: alice.id }),
        ),
      ).toMatchObject({ code: 'VALIDATION' })
      expect(
        await failure(() => data.vectors.search({ embedding, userId: alice.id, efSearch: 0 })),
      ).toMatchObject({ code: 'VALIDATION' })
    })

    it('deletes by ids, message, chat and user', async () => {
      const carol = await data.users.create({ email: uniqueEmail('carol') })
      const chat = await data.chats.create({ userId: carol.id, title: 't' })
      const message = await data.messages.append({ chatId: chat.id, role: 'user', content: 'm' })
      const stored = await data.vectors.upsert(
        Array.from({ length: 8 }, (_, i) => ({
          userId: carol.id,
          chatId: i < 6 ? chat.id : null,
          messageId: i < 3 ? message.id : null,
          chunkIndex: i,
          content: `c${i}`,
          embedding: embeddingFrom(500 + i, DIMENSIONS),
        })),
      )
      expect(await data.vectors.delete({ messageId: message.id })).toBe(3)
      expect(await data.vectors.delete({ chatId: chat.id })).toBe(3)
      expect(await data.vectors.delete({ ids: [stored[6]!.id] })).toBe(1)
      expect(await data.vectors.delete({ userId: carol.id })).toBe(1)
      expect(await failure(() => data.vectors.delete({} as never))).toMatchObject({
        code: 'VALIDATION',
      })
      expect(await failure(() => data.vectors.delete({ ids: ['nope'] }))).toMatchObject({
        code: 'VALIDATION',
      })
    })
  })
}
