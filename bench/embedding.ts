import pg from 'pg'
import { chunkText, createDataLayer, embeddableText } from '../src/index.js'
import { wordHashEmbedding } from '../src/testing/synthetic-vectors.js'
import { createEmptyDatabase, dropDatabase } from '../src/testing/template-databases.js'
import { o200k } from '../test/helpers/tokens.js'
import { printTable } from './measure.js'

const DIMENSIONS = 384
const MESSAGES = 5000
const BATCH = 64

const embed = async (texts: string[]) => texts.map((text) => wordHashEmbedding(text, DIMENSIONS))

/**
 * Embedding on write: draining the queue of 5,000 finished messages (claim, chunk, embed,
 * replace vectors and dequeue in one transaction per batch of 64) against what an app does by
 * hand with raw `pg` for the same messages and the same embed function: read them, embed in
 * batches of 64 and INSERT the vectors, with no queue, no retry and no exactly-once. The
 * embed function is in-process (a word hash), so the figure is the library's own cost.
 */
export async function benchEmbedding(adminUrl: string): Promise<void> {
  const own = await createEmptyDatabase(adminUrl)
  const data = await createDataLayer({
    databaseUrl: own.url,
    embeddings: { dimensions: DIMENSIONS },
    embedOnWrite: { embed, worker: false, batchSize: BATCH },
  })
  const pool = new pg.Pool({ connectionString: own.url, max: 2 })
  try {
    await data.migrate()
    const user = await data.users.create({ email: `bench.embedding.${Date.now()}@example.com` })
    const chat = await data.chats.create({ userId: user.id })
    for (let start = 0; start < MESSAGES; start += 500) {
      await data.messages.saveUIMessages(
        chat.id,
        Array.from({ length: 500 }, (_, k) => ({
          id: `m${start + k}`,
          role: (k % 2 === 0 ? 'user' : 'assistant') as 'user' | 'assistant',
          parts: [
            {
              type: 'text',
              text: `Message ${start + k}: the tram from the station to the old town runs every ${(start + k) % 15} minutes.`,
            },
          ],
        })),
      )
    }
    const rows: string[][] = []
    for (let round = 1; round <= 3; round++) {
      // By hand: the same messages, the same chunks and vectors, straight INSERTs.
      const byHandStarted = performance.now()
      const { rows: messages } = await pool.query<{
        id: string
        parts: never
        content: string
      }>('select id, parts, content from chat_messages where chat_id = $1', [chat.id])
      for (let i = 0; i < messages.length; i += BATCH) {
        const batch = messages.slice(i, i + BATCH)
        const chunks = batch.flatMap((m) =>
          chunkText(embeddableText(m), 512, o200k).map((content, index) => ({ m, content, index })),
        )
        const vectors = await embed(chunks.map((c) => c.content))
        const values: unknown[] = []
        const tuples = chunks.map((c, k) => {
          values.push(user.id, chat.id, c.m.id, c.index, c.content, `[${vectors[k]!.join(',')}]`)
          const b = k * 6
          return `($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}, $${b + 5}, $${b + 6})`
        })
        await pool.query(
          `insert into chat_vectors (user_id, chat_id, message_id, chunk_index, content, embedding) values ${tuples.join(', ')}`,
          values,
        )
      }
      const byHandMs = performance.now() - byHandStarted
      await pool.query('delete from chat_vectors where chat_id = $1', [chat.id])

      // The queue: every message is queued (a round after the first queues them again).
      if (round > 1) {
        await pool.query(
          `insert into embedding_jobs (message_id) select id from chat_messages where chat_id = $1`,
          [chat.id],
        )
      }
      const drainStarted = performance.now()
      const drained = await data.embeddings.drain()
      const drainMs = performance.now() - drainStarted
      if (drained.embedded !== MESSAGES)
        throw new Error(`drained ${drained.embedded} of ${MESSAGES}`)
      await pool.query('delete from chat_vectors where chat_id = $1', [chat.id])
      rows.push([
        String(round),
        `${byHandMs.toFixed(0)} ms (${Math.round((MESSAGES / byHandMs) * 1000)} msg/s)`,
        `${drainMs.toFixed(0)} ms (${Math.round((MESSAGES / drainMs) * 1000)} msg/s)`,
        (byHandMs / drainMs).toFixed(2),
      ])
    }
    console.log(
      `\nembedding on write: ${MESSAGES.toLocaleString('en')} messages, ${DIMENSIONS} dimensions, batches of ${BATCH}, in-process embed; ratio = throughput of the queue / by hand`,
    )
    printTable(['round', 'by hand (raw pg INSERT)', 'data.embeddings.drain()', 'ratio'], rows)
  } finally {
    await pool.end()
    await data.close()
    await dropDatabase(adminUrl, own.name)
  }
}
