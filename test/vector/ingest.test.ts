import { sql } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Chat, DataLayer, User } from '../../src/index.js'
import {
  vectorBackends as backends,
  backendTitle,
  embeddingFrom,
  uniqueEmail,
} from '../helpers/backends.js'
import { failure } from '../helpers/failure.js'

const DIMENSIONS = 384
const BATCH = 1100 // above the COPY threshold (1,000)

const awkward = [
  'tab\there',
  'new\nline',
  'carriage\rreturn',
  'back\\slash \\N \\. end',
  'quote \' " `',
  'ünïcödé 🎉 中文',
  '\\',
]

for (const backend of backends) {
  describe(`vector ingest by COPY [${backendTitle(backend)}]`, () => {
    let data: DataLayer
    let user: User
    let chat: Chat
    const count = async () =>
      (await data.db.execute<{ n: number }>(sql`select count(*)::int as n from chat_vectors`))
        .rows[0]!.n

    beforeAll(async () => {
      data = await backend.open({ embeddings: { dimensions: DIMENSIONS } })
      // These tests are about what COPY stores, not about index upkeep: without the shipped
      // HNSW index each 1,100-row batch takes a fraction of the time (PGlite spent most of
      // a minute maintaining the graph). Index maintenance is covered in indexes.test.ts.
      await data.vectors.dropIndex('chat_vectors_embedding_cosine_idx')
      user = await data.users.create({ email: uniqueEmail('ingest') })
      chat = await data.chats.create({ userId: user.id, title: 'ingest' })
    })

    it('stores a large batch exactly (awkward text and metadata included), in input order', async () => {
      const messages = await data.messages.appendMany(
        Array.from({ length: 10 }, (_, i) => ({
          chatId: chat.id,
          role: 'user' as const,
          content: `m${i}`,
        })),
      )
      const items = Array.from({ length: BATCH }, (_, i) => ({
        userId: user.id,
        chatId: i % 2 ? chat.id : null,
        messageId: i < 50 ? messages[i % 10]!.id : null,
        chunkIndex: i < 50 ? Math.floor(i / 10) : 0,
        content: `${awkward[i % awkward.length]} #${i}`,
        embedding: embeddingFrom(i + 1, DIMENSIONS),
        metadata: { i, text: awkward[i % awkward.length]!, nested: { list: [i, 'x\ty'] } },
      }))
      const before = await count()
      const stored = await data.vectors.upsert(items)
      expect(stored).toHaveLength(BATCH)
      expect(await count()).toBe(before + BATCH)
      const { rows } = await data.db.execute<{
        id: string
        content: string
        metadata: unknown
        e: string
      }>(
        sql`select id, content, metadata, embedding::text as e from chat_vectors where user_id = ${user.id}`,
      )
      const byId = new Map(rows.map((r) => [r.id, r]))
      stored.forEach((s, i) => {
        const row = byId.get(s.id)!
        expect(row.content).toBe(items[i]!.content)
        expect(row.metadata).toEqual(items[i]!.metadata)
        expect(s.messageId).toBe(items[i]!.messageId)
        const e = JSON.parse(row.e) as number[]
        expect(e[7]).toBeCloseTo(items[i]!.embedding[7]!, 5)
      })
      // Again with the same message keys: updated in place, not duplicated.
      const again = await data.vectors.upsert(
        items.map((it) => ({ ...it, content: `${it.content}!` })),
      )
      expect(await count()).toBe(before + BATCH + (BATCH - 50))
      expect(again.slice(0, 50).map((s) => s.id)).toEqual(stored.slice(0, 50).map((s) => s.id))
    }, 120_000)

    it('copies a batch of fresh chunks straight in, returning their ids in order', async () => {
      const before = await count()
      const items = Array.from({ length: BATCH }, (_, i) => ({
        userId: user.id,
        chatId: i % 3 ? chat.id : null,
        chunkIndex: i % 4,
        content: `${awkward[i % awkward.length]} fresh ${i}`,
        embedding: embeddingFrom(i + 5000, DIMENSIONS),
        metadata: { fresh: i },
      }))
      const stored = await data.vectors.upsert(items)
      expect(await count()).toBe(before + BATCH)
      const { rows } = await data.db.execute<{ id: string; content: string; metadata: unknown }>(
        sql`select id, content, metadata from chat_vectors where metadata ? 'fresh'`,
      )
      const byId = new Map(rows.map((r) => [r.id, r]))
      stored.forEach((s, i) => {
        expect(byId.get(s.id)).toMatchObject({
          content: items[i]!.content,
          metadata: items[i]!.metadata,
        })
        expect(s).toMatchObject({ messageId: null, chunkIndex: i % 4 })
      })
    }, 120_000)

    it('writes nothing when one row is bad, naming it', async () => {
      const before = await count()
      const items = Array.from({ length: BATCH }, (_, i) => ({
        userId: user.id,
        content: `bad batch ${i}`,
        embedding: embeddingFrom(i + 7, DIMENSIONS),
      }))
      items[1050]!.embedding[3] = Number.NaN
      const error = await failure(() => data.vectors.upsert(items))
      expect(error).toMatchObject({ code: 'VALIDATION' })
      expect((error as Error).message).toContain('[1050]')
      items[1050]!.embedding[3] = 0.5
      // A row the database refuses (an unknown user): the whole COPY transaction rolls back.
      const stranger = { ...items[1080]!, userId: '01a20600-0000-7000-8000-000000000001' }
      const refused = await failure(() => data.vectors.upsert([...items.slice(0, 1080), stranger]))
      expect(refused).toMatchObject({ code: 'NOT_FOUND' })
      expect(await count()).toBe(before)
    }, 120_000)

    it("refuses a batch that would take over another user's chunk, writing nothing", async () => {
      const other = await data.users.create({ email: uniqueEmail('other') })
      const [mine] = await data.vectors.upsert([
        { userId: user.id, content: 'mine', embedding: embeddingFrom(1, DIMENSIONS) },
      ])
      const before = await count()
      const items = Array.from({ length: BATCH }, (_, i) => ({
        userId: other.id,
        content: `other ${i}`,
        embedding: embeddingFrom(i + 3, DIMENSIONS),
        ...(i === 999 ? { id: mine!.id } : {}),
      }))
      expect(await failure(() => data.vectors.upsert(items))).toMatchObject({ code: 'CONFLICT' })
      expect(await count()).toBe(before)
    }, 120_000)

    it('inside a transaction writes with the transaction, and a rollback keeps nothing', async () => {
      const before = await count()
      await expect(
        data.transaction(async (tx) => {
          await tx.vectors.upsert(
            Array.from({ length: BATCH }, (_, i) => ({
              userId: user.id,
              content: `tx ${i}`,
              embedding: embeddingFrom(i + 11, DIMENSIONS),
            })),
          )
          throw new Error('roll back')
        }),
      ).rejects.toThrow('roll back')
      expect(await count()).toBe(before)
    }, 120_000)
  })
}
