import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import type { DataLayer } from '../../src/index.js'
import { wordHashEmbedding } from '../../src/testing/synthetic-vectors.js'
import { backends, backendTitle, databaseUrlOf, uniqueEmail } from '../helpers/backends.js'
import { waitFor } from '../helpers/wait-for.js'

// Issue #20, item 4, acceptance: 10,000 messages appended by 4 writers are each embedded
// exactly once, though the worker process is killed mid-queue and another takes over.

const DIMENSIONS = 16
const WRITERS = 4
const PER_WRITER = 2500
const server = backends.find((backend) => backend.server)!

function startWorker(data: DataLayer) {
  const sent: string[] = []
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      fileURLToPath(new URL('./workers/embed-worker.ts', import.meta.url)),
      JSON.stringify({ databaseUrl: databaseUrlOf(data), dimensions: DIMENSIONS }),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  let buffered = ''
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString()
    const lines = buffered.split('\n')
    buffered = lines.pop()!
    for (const line of lines) {
      const match = /^embedding \d+ (.*)$/.exec(line)
      if (match) sent.push(...(JSON.parse(match[1]!) as string[]))
    }
  })
  const exited = new Promise((resolve) => child.once('exit', resolve))
  return { child, sent, exited }
}

describe(`embedding on write across a killed worker [${backendTitle(server)}]`, () => {
  it('embeds each of 10,000 messages from 4 writers exactly once', {
    timeout: 240_000,
  }, async () => {
    // This layer only writes (it switches the queue on; its own worker is off).
    const data = await server.open({
      embeddings: { dimensions: DIMENSIONS },
      embedOnWrite: { embed: async () => [], worker: false },
    })
    const writers = [data, ...(await Promise.all([1, 2, 3].map(() => server.reopen(data))))]
    const first = startWorker(data)
    const write = async (layer: DataLayer, w: number) => {
      const user = await layer.users.create({ email: uniqueEmail(`writer${w}`) })
      const chat = await layer.chats.create({ userId: user.id })
      for (let i = 0; i < PER_WRITER; i += 100) {
        await layer.messages.saveUIMessages(
          chat.id,
          Array.from({ length: 100 }, (_, k) => ({
            id: `w${w}-m${i + k}`,
            role: k % 2 === 0 ? ('user' as const) : ('assistant' as const),
            parts: [{ type: 'text', text: `writer ${w} message ${i + k} about stop ${i + k}` }],
          })),
        )
      }
    }
    const writing = Promise.all(writers.map((layer, w) => write(layer, w)))

    // Kill the first worker once it has embedded a good part, while messages still wait.
    await waitFor(
      'the first worker to embed 3,000 texts',
      async () => first.sent.length >= 3000,
      120_000,
    )
    first.child.kill('SIGKILL')
    await first.exited
    const stored = async () =>
      Number(
        (await data.db.execute<{ n: number }>(sql`SELECT count(*)::int AS n FROM chat_vectors`))
          .rows[0]!.n,
      )
    const atKill = await stored()
    expect(atKill).toBeGreaterThan(0)
    expect(atKill).toBeLessThan(WRITERS * PER_WRITER)

    const second = startWorker(data)
    await writing
    await waitFor(
      'the second worker to empty the queue',
      async () => (await data.embeddings.status()).queued === 0,
      180_000,
    )
    second.child.kill('SIGKILL')
    await second.exited

    const rows = (
      await data.db.execute<{ content: string; chunk_index: number; embedding: string; n: number }>(
        sql`SELECT v.content, v.chunk_index, v.embedding::text AS embedding,
                   count(*) OVER (PARTITION BY v.message_id)::int AS n
              FROM chat_vectors v JOIN chat_messages m ON m.id = v.message_id
             WHERE v.content = m.content`,
      )
    ).rows
    // Every message once: one vector each (a short text is one chunk), of its own text.
    expect(rows).toHaveLength(WRITERS * PER_WRITER)
    expect(await stored()).toBe(WRITERS * PER_WRITER)
    expect(rows.every((row) => row.n === 1 && row.chunk_index === 0)).toBe(true)
    const sample = rows.filter((_, i) => i % 97 === 0)
    for (const row of sample) {
      expect((JSON.parse(row.embedding) as number[]).map(Math.fround)).toEqual(
        wordHashEmbedding(row.content, DIMENSIONS).map(Math.fround),
      )
    }
    // Sent to the model more than once: only what the killed worker had in flight (its
    // batch of 50 claimed, embedded, not yet stored), which the second worker took over.
    const sent = [...first.sent, ...second.sent]
    const twice = sent.length - new Set(sent).size
    expect(new Set(sent).size).toBe(WRITERS * PER_WRITER)
    expect(twice).toBeLessThanOrEqual(50)
    console.log(
      `embedded ${WRITERS * PER_WRITER} messages; ${atKill} stored when the first worker was killed; ${twice} sent twice`,
    )
  })
})
