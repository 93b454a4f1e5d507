import pg from 'pg'
import { v7 as uuidv7 } from 'uuid'
import type { AppendMessageInput, DataLayer } from '../src/index.js'
import { compareAtConcurrencies, compareRuns, median, printTable } from './measure.js'

const CHUNKS = 1_000
const CHUNK_TEXT = 'word '
const CHUNKS_PER_SECOND = 500
const PATH_MESSAGES = 10_000
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 2000)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)

/**
 * Conversations: how a streamed reply is persisted, and what reading a chat's active path
 * costs. `data` must not cache rows, so that the reads measure the query.
 */
export async function benchConversations(data: DataLayer, databaseUrl: string): Promise<void> {
  const user = await data.users.create({ email: `bench.conversations.${Date.now()}@example.com` })
  await benchStreamedReplies(data, databaseUrl, user.id)
  await benchActivePath(data, user.id)
}

/**
 * Replies of {@link CHUNKS} chunks arriving at {@link CHUNKS_PER_SECOND} each (a fast model),
 * several at once: through `startReply`/`update`/`finish` (batched, one write per flush
 * interval), against the same text written with one `UPDATE` per chunk over raw `pg` (what
 * an app does when it saves every chunk). A writer that waits on its write falls behind
 * the model; the figures are chunks taken in per second and writes per reply.
 */
async function benchStreamedReplies(
  data: DataLayer,
  databaseUrl: string,
  userId: string,
): Promise<void> {
  console.log(
    `\n## Streamed reply persistence (${CHUNKS.toLocaleString('en-US')} chunks per reply, offered at ${CHUNKS_PER_SECOND} chunks/s per reply; ${ROUNDS} alternating rounds; medians)`,
  )
  const raw = new pg.Pool({ connectionString: databaseUrl, max: 16 })
  const chat = await data.chats.create({ userId, title: 'bench replies' })
  const perChunk = async () => {
    const [message] = await data.messages.appendMany([
      { chatId: chat.id, role: 'assistant', content: '' },
    ])
    let text = ''
    let writes = 0
    await paced(async () => {
      text += CHUNK_TEXT
      await raw.query('UPDATE chat_messages SET parts = $1, content = $2 WHERE id = $3', [
        JSON.stringify([{ type: 'text', text }]),
        text,
        message!.id,
      ])
      writes++
    })
    return writes
  }
  const batched = async () => {
    const reply = await data.messages.startReply(chat.id)
    let text = ''
    await paced(async () => {
      text += CHUNK_TEXT
      reply.update({ parts: [{ type: 'text', text }] })
    })
    await reply.finish({ finishReason: 'stop' })
    return reply.stats.writes
  }
  const rows: string[][] = []
  for (const concurrency of [1, 8, 32]) {
    const writes = { perChunk: [] as number[], batched: [] as number[] }
    const run = (write: () => Promise<number>, into: number[]) => async () => {
      const counts = await Promise.all(Array.from({ length: concurrency }, write))
      into.push(...counts)
    }
    const result = await compareRuns(run(perChunk, writes.perChunk), run(batched, writes.batched), {
      units: concurrency * CHUNKS,
      rounds: ROUNDS,
    })
    rows.push([
      String(concurrency),
      `${Math.round(result.baseline).toLocaleString('en-US')} chunks/s, ${median(writes.perChunk)} writes/reply`,
      `${Math.round(result.subject).toLocaleString('en-US')} chunks/s, ${median(writes.batched)} writes/reply`,
      result.ratio.toFixed(2),
    ])
  }
  await raw.end()
  printTable(
    [
      'replies at once',
      'raw pg, one UPDATE per chunk',
      'reply.update (flush every 250 ms)',
      'ratio',
    ],
    rows,
  )
  console.log(
    `offered: ${CHUNKS_PER_SECOND} chunks/s per reply; a ratio above 1 means the per-chunk writer fell behind the model`,
  )
}

/** Produces {@link CHUNKS} chunks at {@link CHUNKS_PER_SECOND}, waiting on `chunk` each time. */
async function paced(chunk: () => Promise<void>): Promise<void> {
  const started = performance.now()
  for (let i = 0; i < CHUNKS; i++) {
    await chunk()
    const due = started + ((i + 1) * 1000) / CHUNKS_PER_SECOND
    const wait = due - performance.now()
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
  }
}

/**
 * The first page (50, newest first) of a chat of {@link PATH_MESSAGES} messages in which
 * every tenth answer was regenerated (so its active path skips the old answers), through
 * `listByChat`, against the same page of a chat of as many messages without branches read
 * with the query `listByChat` ran before branches (by `seq` alone).
 */
async function benchActivePath(data: DataLayer, userId: string): Promise<void> {
  console.log(
    `\n## listByChat of the active path (${PATH_MESSAGES.toLocaleString('en-US')} messages; first page of 50, newest first; ${ROUNDS} alternating rounds of ${DURATION_MS} ms; medians)`,
  )
  const linear = await data.chats.create({ userId, title: 'bench linear' })
  const branched = await data.chats.create({ userId, title: 'bench branches' })
  const linearMessages: AppendMessageInput[] = []
  const branchedMessages: AppendMessageInput[] = []
  const ids: string[] = []
  const parents: (string | null)[] = []
  for (let i = 0; i < PATH_MESSAGES; i++) {
    const role = i % 2 ? 'assistant' : 'user'
    linearMessages.push({ chatId: linear.id, role, content: `message ${i}` })
    // Every tenth message is a regenerated answer: a sibling of the one before it.
    const parent = i === 0 ? null : i % 10 === 9 ? parents[i - 1]! : ids[i - 1]!
    ids.push(uuidv7())
    parents.push(parent)
    branchedMessages.push({
      chatId: branched.id,
      id: ids[i]!,
      parentId: parent,
      role: i % 10 === 9 ? 'assistant' : role,
      content: `message ${i}`,
    })
  }
  for (let i = 0; i < PATH_MESSAGES; i += 1000) {
    await data.messages.appendMany(linearMessages.slice(i, i + 1000))
    await data.messages.appendMany(branchedMessages.slice(i, i + 1000))
  }
  const pathLength = (await data.messages.branches(branched.id)).length
  const withoutBranches = () =>
    data.messages.findPage({ where: { chatId: linear.id }, orderBy: { seq: 'desc' }, limit: 50 })
  const activePath = () => data.messages.listByChat(branched.id, { order: 'desc', limit: 50 })
  const linearPath = () => data.messages.listByChat(linear.id, { order: 'desc', limit: 50 })
  const options = { levels: [1, 8], durationMs: DURATION_MS, rounds: ROUNDS }
  printTable(
    ['concurrency', 'by seq, no branches', 'listByChat, branches', 'ratio'],
    await compareAtConcurrencies(withoutBranches, activePath, options),
  )
  printTable(
    ['concurrency', 'by seq, no branches', 'listByChat, same chat', 'ratio'],
    await compareAtConcurrencies(withoutBranches, linearPath, options),
  )
  // Oldest first, the whole path is walked to find its first message.
  const oldestFirst = () =>
    data.messages.findPage({ where: { chatId: linear.id }, orderBy: { seq: 'asc' }, limit: 50 })
  const activePathOldestFirst = () =>
    data.messages.listByChat(branched.id, { order: 'asc', limit: 50 })
  printTable(
    [
      'concurrency',
      'oldest first, by seq, no branches',
      'oldest first, listByChat, branches',
      'ratio',
    ],
    await compareAtConcurrencies(oldestFirst, activePathOldestFirst, options),
  )
  console.log(
    `the branched chat's active path is ${pathLength.toLocaleString('en-US')} of its ${PATH_MESSAGES.toLocaleString('en-US')} messages`,
  )
}
