import { sql } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import { chunkText, type DataLayer, embeddableText, type User } from '../../src/index.js'
import { wordHashEmbedding } from '../../src/testing/synthetic-vectors.js'
import { backends, backendTitle, uniqueEmail } from '../helpers/backends.js'
import { failure } from '../helpers/failure.js'
import { o200k } from '../helpers/tokens.js'
import { mockEmbedder } from './mock-embedder.js'

// Issue #20, item 4: embedding on write, through a durable queue in Postgres.

const DIMENSIONS = 32
const MAX_CHUNK_TOKENS = 40

type VectorRow = { message_id: string; chunk_index: number; content: string; embedding: string }

async function vectorsOf(data: DataLayer, chatId: string): Promise<VectorRow[]> {
  return (
    await data.db.execute<VectorRow>(
      sql`SELECT message_id, chunk_index, content, embedding::text AS embedding FROM chat_vectors
           WHERE chat_id = ${chatId} ORDER BY message_id, chunk_index`,
    )
  ).rows
}

/** What the vectors of these messages must be: their chunks, each with its hash vector. */
function expectedVectors(messages: { id: string; parts: unknown; content: string }[]) {
  return messages
    .flatMap((m) =>
      chunkText(
        embeddableText(m as Parameters<typeof embeddableText>[0]),
        MAX_CHUNK_TOKENS,
        o200k,
      ).map((content, chunk_index) => ({
        message_id: m.id,
        chunk_index,
        content,
        embedding: wordHashEmbedding(content, DIMENSIONS).map(Math.fround),
      })),
    )
    .sort((a, b) => a.message_id.localeCompare(b.message_id) || a.chunk_index - b.chunk_index)
}

// pgvector stores single precision: both sides are compared as float32.
const parse = (rows: VectorRow[]) =>
  rows.map((row) => ({
    ...row,
    embedding: (JSON.parse(row.embedding) as number[]).map(Math.fround),
  }))
const LONG = Array.from(
  { length: 12 },
  (_, i) => `Sentence ${i} is about the Rhine and Basel.`,
).join(' ')

for (const backend of backends) {
  describe(`embedding on write [${backendTitle(backend)}]`, () => {
    let data: DataLayer
    let user: User
    const embedder = mockEmbedder(DIMENSIONS)
    let override: ((texts: string[]) => Promise<number[][]>) | undefined

    beforeAll(async () => {
      data = await backend.open({
        embeddings: { dimensions: DIMENSIONS },
        embedOnWrite: {
          embed: (texts) => (override ?? embedder.embed)(texts),
          worker: false,
          maxChunkTokens: MAX_CHUNK_TOKENS,
          retryBaseMs: 1,
          retryMaxMs: 5,
          maxAttempts: 3,
        },
      })
      user = await data.users.create({ email: uniqueEmail('embed') })
    })

    it('embeds every finished user and assistant message once, in chunks, and re-saving changes nothing', async () => {
      const chat = await data.chats.create({ userId: user.id })
      const saved = await data.messages.saveUIMessages(chat.id, [
        { id: 'u1', role: 'user', parts: [{ type: 'text', text: 'Which museum in Basel?' }] },
        { id: 'a1', role: 'assistant', parts: [{ type: 'text', text: LONG }] },
      ])
      const appended = await data.messages.append({
        chatId: chat.id,
        role: 'user',
        content: 'Thanks, and the zoo?',
      })
      await data.messages.append({
        chatId: chat.id,
        role: 'tool',
        content: 'a tool row is not embedded',
      })
      const reply = await data.messages.startReply(chat.id)
      reply.update({ parts: [{ type: 'text', text: 'The zoo opens at' }] })
      await reply.flush()

      expect((await data.embeddings.status()).queued).toBe(3)
      const first = await data.embeddings.drain()
      expect(first).toMatchObject({ claimed: 3, embedded: 3, failed: 0, requeued: 0 })
      const expected = expectedVectors([...saved, appended])
      expect(expected.filter((v) => v.message_id === saved[1]!.id).length).toBeGreaterThan(1)
      expect(parse(await vectorsOf(data, chat.id))).toEqual(expected)
      expect(first.chunks).toBe(expected.length)

      // The streaming reply is embedded once it finishes, with its final text.
      reply.update({ parts: [{ type: 'text', text: 'The zoo opens at eight.' }] })
      await reply.finish()
      expect(await data.embeddings.drain()).toMatchObject({ embedded: 1 })
      const finished = await data.messages.getById(reply.messageId)
      expect(parse(await vectorsOf(data, chat.id))).toEqual(
        expectedVectors([...saved, appended, finished]),
      )

      // Saving the same messages again queues nothing and embeds nothing.
      const calls = embedder.seen.length
      await data.messages.saveUIMessages(chat.id, [
        { id: 'u1', role: 'user', parts: [{ type: 'text', text: 'Which museum in Basel?' }] },
        { id: 'a1', role: 'assistant', parts: [{ type: 'text', text: LONG }] },
      ])
      expect((await data.embeddings.status()).queued).toBe(0)
      expect(await data.embeddings.drain()).toMatchObject({ claimed: 0 })
      expect(embedder.seen.length).toBe(calls)
    })

    it('re-embeds an edited message (its old chunks gone) and removes the vectors of a deleted one', async () => {
      const chat = await data.chats.create({ userId: user.id })
      const [long, short] = await data.messages.saveUIMessages(chat.id, [
        { id: 'u1', role: 'user', parts: [{ type: 'text', text: LONG }] },
        { id: 'a1', role: 'assistant', parts: [{ type: 'text', text: 'A short answer.' }] },
      ])
      await data.embeddings.drain()
      const edited = await data.messages.update(long!.id, {
        content: 'Now it is short.',
        parts: [{ type: 'text', text: 'Now it is short.' }],
      })
      expect(await data.embeddings.drain()).toMatchObject({ embedded: 1, chunks: 1 })
      expect(parse(await vectorsOf(data, chat.id))).toEqual(expectedVectors([edited, short!]))
      await data.messages.delete(short!.id)
      expect(parse(await vectorsOf(data, chat.id))).toEqual(expectedVectors([edited]))
      expect((await data.embeddings.status()).queued).toBe(0)
    })

    it('stores nothing of a message changed while it was embedded, and embeds its new text next', async () => {
      const chat = await data.chats.create({ userId: user.id })
      const [message] = await data.messages.saveUIMessages(chat.id, [
        { id: 'u1', role: 'user', parts: [{ type: 'text', text: 'The first words.' }] },
      ])
      // The edit commits while the batch is out embedding.
      embedder.whileEmbedding(async (texts) => {
        if (!texts.includes('The first words.')) return
        embedder.whileEmbedding(undefined)
        await data.messages.update(message!.id, {
          content: 'The second words.',
          parts: [{ type: 'text', text: 'The second words.' }],
        })
      })
      expect(await data.embeddings.runOnce()).toMatchObject({
        claimed: 1,
        embedded: 0,
        requeued: 1,
      })
      expect(await vectorsOf(data, chat.id)).toEqual([])
      expect(await data.embeddings.runOnce()).toMatchObject({
        claimed: 1,
        embedded: 1,
        requeued: 0,
      })
      const rows = parse(await vectorsOf(data, chat.id))
      expect(rows.map((r) => r.content)).toEqual(['The second words.'])
    })

    it('retries a failing embed with backoff, shows it in status, health and metrics, then sets it aside', async () => {
      const chat = await data.chats.create({ userId: user.id })
      await data.messages.append({ chatId: chat.id, role: 'user', content: 'Embed me later.' })
      embedder.failWhen(() => new Error('provider said 503; token=sk-live-secret'))
      const failed = await data.embeddings.runOnce()
      expect(failed).toMatchObject({ claimed: 1, failed: 1, embedded: 0 })
      const status = await data.embeddings.status()
      expect(status).toMatchObject({ queued: 1, failed: 0 })
      expect(status.lastError).toContain('provider said 503')
      expect(status.lastError).not.toContain('sk-live-secret')
      expect(data.metrics().embeddings?.failedBatches).toBeGreaterThan(0)
      // Two more claims (maxAttempts 3), each after its backoff, and it is set aside.
      for (let claims = 1; claims < 3; ) {
        const batch = await data.embeddings.runOnce()
        claims += batch.claimed
      }
      expect(await data.embeddings.status()).toMatchObject({ queued: 1, failed: 1, retrying: 0 })
      const health = await data.health()
      expect(health.status).toBe('degraded')
      expect(health.parts.embeddings).toMatchObject({ status: 'ok', queue: { failed: 1 } })
      expect(await data.embeddings.drain()).toMatchObject({ claimed: 0 })

      embedder.failWhen(undefined)
      expect(await data.embeddings.retryFailed()).toBe(1)
      expect(await data.embeddings.drain()).toMatchObject({ embedded: 1 })
      expect(await data.embeddings.status()).toMatchObject({ queued: 0, failed: 0 })
      expect((await data.health()).parts.embeddings?.status).toBe('ok')
      expect(await vectorsOf(data, chat.id)).toHaveLength(1)
    })

    it('records a wrong count, dimension or NaN from embed as a failure, storing nothing', async () => {
      const chat = await data.chats.create({ userId: user.id })
      await data.messages.append({ chatId: chat.id, role: 'user', content: 'Dimension check.' })
      for (const answer of [[[1, 2, 3]], [], [Array(DIMENSIONS).fill(Number.NaN)], 'nope']) {
        override = async () => answer as number[][]
        await data.embeddings.retryFailed()
        let batch = await data.embeddings.runOnce()
        while (batch.claimed === 0) batch = await data.embeddings.runOnce()
        expect(batch).toMatchObject({ failed: 1, embedded: 0 })
        expect(await vectorsOf(data, chat.id)).toEqual([])
      }
      expect((await data.embeddings.status()).lastError).toContain('return one vector per text')
      override = undefined
      await data.embeddings.retryFailed()
      let done = await data.embeddings.drain()
      while (done.embedded === 0) done = await data.embeddings.drain()
      expect(await vectorsOf(data, chat.id)).toHaveLength(1)
    })

    it('queues nothing before a layer with embedOnWrite switched the queue on; backfill queues that', async () => {
      const plain = await backend.open({ embeddings: { dimensions: DIMENSIONS } })
      expect(await failure(() => plain.embeddings.drain())).toMatchObject({ code: 'CONFIG' })
      await plain.close()

      await data.db.execute(sql`DELETE FROM embedding_queue_switch`)
      const chat = await data.chats.create({ userId: user.id })
      await data.messages.append({
        chatId: chat.id,
        role: 'user',
        content: 'Written before the queue.',
      })
      const queuedOfChat = async () =>
        (
          await data.db.execute<{ n: number }>(
            sql`SELECT count(*)::int AS n FROM embedding_jobs j JOIN chat_messages m ON m.id = j.message_id
                 WHERE m.chat_id = ${chat.id}`,
          )
        ).rows[0]!.n
      expect(await queuedOfChat()).toBe(0)
      await data.migrate() // switches it on again
      expect(await data.embeddings.backfill()).toBeGreaterThanOrEqual(1)
      expect(await queuedOfChat()).toBe(1)
      await data.embeddings.drain()
      expect((await vectorsOf(data, chat.id)).map((v) => v.content)).toEqual([
        'Written before the queue.',
      ])
      await data.messages.append({ chatId: chat.id, role: 'user', content: 'Written after.' })
      expect(await queuedOfChat()).toBe(1)
    })
  })
}
