import { sql } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Chat, DataLayer, User } from '../../src/index.js'
import {
  backendsWithPooler,
  backendTitle,
  embeddingFrom,
  partitionedBackends,
  uniqueEmail,
} from '../helpers/backends.js'
import { failure } from '../helpers/failure.js'

const DIMENSIONS = 384
const backends = [...backendsWithPooler, ...partitionedBackends]

for (const backend of backends) {
  describe(`vectors [${backendTitle(backend)}]`, () => {
    let data: DataLayer
    let alice: User
    let bob: User
    let chat: Chat
    const vectorCount = async () =>
      (await data.db.execute<{ n: number }>(sql`select count(*)::int as n from chat_vectors`))
        .rows[0]!.n

    beforeAll(async () => {
      data = await backend.open({ embeddings: { dimensions: DIMENSIONS } })
      alice = await data.users.create({ email: uniqueEmail('alice') })
      bob = await data.users.create({ email: uniqueEmail('bob') })
      chat = await data.chats.create({ userId: alice.id, title: 'notes' })
    })

    it('stores chunks and finds the nearest, scoped to the user', async () => {
      const items = Array.from({ length: 30 }, (_, i) => ({
        userId: i % 2 ? bob.id : alice.id,
        chatId: i % 2 ? null : chat.id,
        content: `chunk ${i}`,
        embedding: embeddingFrom(i, DIMENSIONS),
        metadata: { i },
      }))
      const stored = await data.vectors.upsert(items)
      expect(stored).toHaveLength(30)
      const hits = await data.vectors.search({
        userId: alice.id,
        embedding: embeddingFrom(4, DIMENSIONS),
        limit: 5,
      })
      expect(hits).toHaveLength(5)
      expect(hits[0]).toMatchObject({ content: 'chunk 4', metadata: { i: 4 } })
      expect(hits[0]!.distance).toBeCloseTo(0, 5)
      expect(hits[0]!.score).toBeCloseTo(1, 5)
      for (let i = 1; i < hits.length; i++)
        expect(hits[i]!.distance).toBeGreaterThanOrEqual(hits[i - 1]!.distance)
      // Bob's own nearest is never in Alice's results.
      const all = await data.vectors.search({
        userId: alice.id,
        embedding: embeddingFrom(5, DIMENSIONS),
        limit: 100,
      })
      expect(all).toHaveLength(15)
      expect(all.every((h) => Number(h.metadata.i) % 2 === 0)).toBe(true)
      const inChat = await data.vectors.search({
        userId: alice.id,
        chatId: chat.id,
        embedding: embeddingFrom(1, DIMENSIONS),
      })
      expect(inChat.every((h) => h.chatId === chat.id)).toBe(true)
    })

    it('replaces the chunk of a message on upsert instead of duplicating it', async () => {
      const message = await data.messages.append({ chatId: chat.id, role: 'user', content: 'v1' })
      const first = await data.vectors.upsert([
        {
          userId: alice.id,
          chatId: chat.id,
          messageId: message.id,
          content: 'v1',
          embedding: embeddingFrom(100, DIMENSIONS),
        },
      ])
      const second = await data.vectors.upsert([
        {
          userId: alice.id,
          chatId: chat.id,
          messageId: message.id,
          content: 'v2',
          embedding: embeddingFrom(101, DIMENSIONS),
        },
      ])
      expect(second[0]!.id).toBe(first[0]!.id)
      const hits = await data.vectors.search({
        userId: alice.id,
        embedding: embeddingFrom(101, DIMENSIONS),
        limit: 1,
      })
      expect(hits[0]).toMatchObject({ content: 'v2', messageId: message.id })
    })

    it('rejects a wrong-length, NaN or Infinity embedding naming the item, and writes nothing', async () => {
      const before = await vectorCount()
      const good = { userId: alice.id, content: 'ok', embedding: embeddingFrom(7, DIMENSIONS) }
      const short = await failure(() =>
        data.vectors.upsert([good, { ...good, embedding: embeddingFrom(7, DIMENSIONS - 1) }]),
      )
      expect(short.code).toBe('VALIDATION')
      expect(short.message).toContain('item 1')
      expect(short.message).toContain(`${DIMENSIONS} dimensions`)
      const nan = embeddingFrom(8, DIMENSIONS)
      nan[17] = Number.NaN
      const nanError = await failure(() =>
        data.vectors.upsert([good, good, { ...good, embedding: nan }]),
      )
      expect(nanError.code).toBe('VALIDATION')
      expect(nanError.message).toContain('[2].embedding[17]')
      const inf = embeddingFrom(9, DIMENSIONS)
      inf[0] = Number.POSITIVE_INFINITY
      expect((await failure(() => data.vectors.upsert([{ ...good, embedding: inf }]))).code).toBe(
        'VALIDATION',
      )
      const strings = await failure(() =>
        data.vectors.upsert([{ ...good, embedding: ['1'] as never }]),
      )
      expect(strings.code).toBe('VALIDATION')
      const query = await failure(() =>
        data.vectors.search({ userId: alice.id, embedding: [1, 2, 3] }),
      )
      expect(query.code).toBe('VALIDATION')
      expect(await vectorCount()).toBe(before)
    })

    it("never moves a chunk to another user's rows", async () => {
      const message = await data.messages.append({ chatId: chat.id, role: 'user', content: 'mine' })
      await data.vectors.upsert([
        {
          userId: alice.id,
          chatId: chat.id,
          messageId: message.id,
          content: 'mine',
          embedding: embeddingFrom(200, DIMENSIONS),
        },
      ])
      const error = await failure(() =>
        data.vectors.upsert([
          {
            userId: bob.id,
            messageId: message.id,
            content: 'stolen',
            embedding: embeddingFrom(201, DIMENSIONS),
          },
        ]),
      )
      expect(error.code).toBe('CONFLICT')
      const hits = await data.vectors.search({
        userId: alice.id,
        embedding: embeddingFrom(200, DIMENSIONS),
        limit: 1,
      })
      expect(hits[0]!.content).toBe('mine')
    })

    it('a search without a user is refused', async () => {
      const error = await failure(() =>
        data.vectors.search({ embedding: embeddingFrom(1, DIMENSIONS) } as never),
      )
      expect(error.code).toBe('VALIDATION')
      expect(error.message).toContain('userId')
    })
  })
}
