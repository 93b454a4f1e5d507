import { sql } from 'drizzle-orm'
import pg from 'pg'
import { describe, expect, it } from 'vitest'
import type { DataLayer, PartitionConversionProgress, User } from '../../src/index.js'
import {
  backends,
  backendTitle,
  databaseUrlOf,
  embeddingFrom,
  uniqueEmail,
} from '../helpers/backends.js'
import { failure } from '../helpers/failure.js'
import { waitFor } from '../helpers/wait-for.js'

const DIMENSIONS = 16
const PARTITIONS = 4

/** Every row of chat_vectors as text (every column, nulls included), by id. */
async function snapshot(data: DataLayer): Promise<Map<string, string>> {
  const { rows } = await data.db.execute<{ id: string; row: string }>(
    sql`select id::text as id, v::text as row from chat_vectors v`,
  )
  return new Map(rows.map((r) => [r.id, r.row]))
}

/** The content column of each row, by id. */
async function contents(data: DataLayer): Promise<Map<string, string>> {
  const { rows } = await data.db.execute<{ id: string; content: string }>(
    sql`select id::text as id, content from chat_vectors`,
  )
  return new Map(rows.map((r) => [r.id, r.content]))
}

/** How chat_vectors is laid out: partition key and count, and its index and key names. */
async function layout(data: DataLayer) {
  const { rows } = await data.db.execute<{
    key: string | null
    parts: number
    indexes: string[]
    constraints: string[]
  }>(
    sql`select pg_get_partkeydef('chat_vectors'::regclass) as key,
          (select count(*)::int from pg_inherits where inhparent = 'chat_vectors'::regclass) as parts,
          array(select c.relname::text from pg_index i join pg_class c on c.oid = i.indexrelid
                 where i.indrelid = 'chat_vectors'::regclass order by 1) as indexes,
          array(select conname::text from pg_constraint
                 where conrelid = 'chat_vectors'::regclass order by 1) as constraints`,
  )
  return rows[0]!
}

for (const backend of backends) {
  describe(`converting chat_vectors to hash partitions [${backendTitle(backend)}]`, () => {
    it('keeps every row, index and key while another process keeps writing, and then upserts on the new keys', async () => {
      const data = await backend.open({ embeddings: { dimensions: DIMENSIONS } })
      const users = await data.users.createMany(
        Array.from({ length: 8 }, () => ({ email: uniqueEmail('convert') })),
      )
      const chat = await data.chats.create({ userId: users[0]!.id, title: 'converted' })
      const message = await data.messages.append({ chatId: chat.id, role: 'user', content: 'hi' })
      await data.vectors.upsert(
        Array.from({ length: 1500 }, (_, i) => ({
          userId: users[i % users.length]!.id,
          content: `chunk ${i}`,
          embedding: embeddingFrom(i + 1, DIMENSIONS),
          metadata: { i },
        })),
      )
      await data.vectors.upsert([
        {
          userId: users[0]!.id,
          chatId: chat.id,
          messageId: message.id,
          chunkIndex: 0,
          content: 'm0',
          embedding: embeddingFrom(9001, DIMENSIONS),
        },
      ])
      const before = await layout(data)
      expect(before.key).toBeNull()
      const original = await snapshot(data)
      expect(original.size).toBe(1501)

      // "Another process": its own layer, whose layout (one table) goes stale at the swap.
      const other = await backend.reopen(data)
      const writes = { done: 0, failed: [] as unknown[] }
      const latest = new Map<string, string | null>() // id -> content, null once deleted
      let running = true
      const writer = async (w: number) => {
        let n = 0
        while (running) {
          n++
          const user = users[(w + n) % users.length]!
          try {
            const [stored] = await other.vectors.upsert([
              {
                userId: user.id,
                content: `new ${w}.${n}`,
                embedding: embeddingFrom(5000 + n, DIMENSIONS),
              },
            ])
            latest.set(stored!.id, `new ${w}.${n}`)
            if (n % 3 === 0) {
              await other.vectors.delete({ ids: [stored!.id] })
              latest.set(stored!.id, null)
            }
            writes.done++
          } catch (error) {
            writes.failed.push(error)
          }
          // PGlite is one in-process instance: give the event loop a turn between writes.
          if (!backend.server) await new Promise((r) => setTimeout(r, 1))
        }
      }
      const writers = [writer(0), writer(1)]
      const progress: PartitionConversionProgress[] = []
      let report: Awaited<ReturnType<DataLayer['vectors']['partition']>>
      let duringConversion: number
      try {
        while (writes.done < 5 && writes.failed.length === 0)
          await new Promise((r) => setTimeout(r, 5))
        const writesBefore = writes.done
        report = await data.vectors.partition({
          partitions: PARTITIONS,
          batchSize: 100,
          onProgress: (p) => progress.push(p),
        })
        duringConversion = writes.done - writesBefore
        // Writes after the swap go through the stale layer's retry on the new keys.
        const afterSwap = writes.done
        while (writes.done < afterSwap + 10 && writes.failed.length === 0) {
          await new Promise((r) => setTimeout(r, 10))
        }
      } finally {
        running = false
        await Promise.all(writers)
      }

      expect(writes.failed).toEqual([])
      // On a server the writes overlap the copy. In-process PGlite runs the conversion's
      // queries back to back (they never wait for I/O), so there they come before and after.
      if (backend.server) expect(duringConversion).toBeGreaterThan(0)
      expect(report).toMatchObject({ converted: true, partitions: PARTITIONS, oldTable: null })
      expect(progress.filter((p) => p.phase === 'copying').length).toBeGreaterThanOrEqual(15)
      expect(progress.at(-1)?.phase).toBe('swapping')

      const after = await layout(data)
      expect(after.key).toBe('HASH (user_id)')
      expect(after.parts).toBe(PARTITIONS)
      // The same index and key names as before, and no trace of the copy or its trigger.
      expect(after.indexes).toEqual(before.indexes)
      expect(after.constraints).toEqual(before.constraints)
      const { rows: leftovers } = await data.db.execute<{ n: number }>(
        sql`select (select count(*)::int from pg_class where relname like 'chat_vectors_next%')
                 + (select count(*)::int from pg_trigger where tgrelid = 'chat_vectors'::regclass
                     and not tgisinternal) as n`,
      )
      expect(leftovers[0]!.n).toBe(0)

      // Every row the writers left is there as they left it; the rest is as before.
      const rows = await contents(data)
      for (const [id, content] of latest) {
        if (content === null) expect(rows.has(id), `deleted ${id}`).toBe(false)
        else expect(rows.get(id), `written ${id}`).toBe(content)
      }
      // The rows from before, every column (the generated content_tsv too) as it was.
      const now = await snapshot(data)
      const untouched = [...now.keys()].filter((id) => !latest.has(id))
      expect(untouched.length).toBe(1501)
      for (const [id, row] of original) expect(now.get(id), id).toBe(row)
      expect(rows.size).toBe(1501 + [...latest.values()].filter((c) => c !== null).length)
      expect(report.rows).toBeGreaterThanOrEqual(1501)

      // A user's rows live in one partition; search and message-keyed upserts work on it.
      const { rows: placed } = await data.db.execute<{ n: number }>(
        sql`select count(*)::int as n from (select user_id from chat_vectors
              group by user_id having count(distinct tableoid) > 1) x`,
      )
      expect(placed[0]!.n).toBe(0)
      const hits = await data.vectors.search({
        userId: users[0]!.id,
        embedding: embeddingFrom(1, DIMENSIONS),
        limit: 1,
      })
      expect(hits[0]?.content).toBe('chunk 0')
      await data.vectors.upsert([
        {
          userId: users[0]!.id,
          chatId: chat.id,
          messageId: message.id,
          chunkIndex: 0,
          content: 'm0 again',
          embedding: embeddingFrom(9001, DIMENSIONS),
        },
      ])
      const { rows: byMessage } = await data.db.execute<{ content: string }>(
        sql`select content from chat_vectors where message_id = ${message.id}`,
      )
      expect(byMessage).toEqual([{ content: 'm0 again' }])
      // Another user's message key is refused, as on a table partitioned from the start.
      const taken = await failure(() =>
        other.vectors.upsert([
          {
            userId: users[1]!.id,
            messageId: message.id,
            chunkIndex: 0,
            content: 'x',
            embedding: embeddingFrom(1, DIMENSIONS),
          },
        ]),
      )
      expect(taken.code).toBe('CONFLICT')

      // Done once: the same count again is a no-op; another count is refused.
      expect(await data.vectors.partition({ partitions: PARTITIONS })).toMatchObject({
        converted: false,
      })
      expect((await failure(() => data.vectors.partition({ partitions: 8 }))).code).toBe('CONFIG')
    })

    it('keeps the old table when asked, refuses bad counts, and never runs inside a transaction', async () => {
      const data = await backend.open({ embeddings: { dimensions: DIMENSIONS } })
      const user: User = await data.users.create({ email: uniqueEmail('keep') })
      await data.vectors.upsert(
        Array.from({ length: 50 }, (_, i) => ({
          userId: user.id,
          content: `c${i}`,
          embedding: embeddingFrom(i + 1, DIMENSIONS),
        })),
      )
      for (const partitions of [1, 1025, 2.5]) {
        expect((await failure(() => data.vectors.partition({ partitions }))).code).toBe(
          'VALIDATION',
        )
      }
      const inside = await failure(() =>
        // @ts-expect-error conversion is absent from a transaction's type
        data.transaction((tx) => tx.vectors.partition({ partitions: PARTITIONS })),
      )
      expect(inside.code).toBe('TRANSACTION_MISUSE')
      // A unique index that leaves out user_id cannot be carried over: refused, and the
      // half-made copy is removed again.
      await data.db.execute(
        sql`create unique index chat_vectors_content_uq on chat_vectors (content)`,
      )
      const refused = await failure(() => data.vectors.partition({ partitions: 2 }))
      expect(refused.code).toBe('CONFIG')
      expect(refused.message).toContain('chat_vectors_content_uq')
      const { rows: left } = await data.db.execute<{ n: number }>(
        sql`select count(*)::int as n from pg_class where relname like 'chat_vectors_next%'`,
      )
      expect(left[0]!.n).toBe(0)
      await data.db.execute(sql`drop index chat_vectors_content_uq`)
      // A view would follow the old table through the rename: refused, naming it.
      await data.db.execute(sql`create view recent_vectors as select id from chat_vectors`)
      const viewed = await failure(() => data.vectors.partition({ partitions: 2 }))
      expect(viewed.code).toBe('CONFIG')
      expect(viewed.message).toContain('recent_vectors')
      await data.db.execute(sql`drop view recent_vectors`)

      const before = await snapshot(data)
      const report = await data.vectors.partition({ partitions: 2, keepOld: true })
      expect(report).toMatchObject({
        converted: true,
        rows: 50,
        oldTable: 'chat_vectors_unpartitioned',
      })
      expect(await snapshot(data)).toEqual(before)
      const { rows } = await data.db.execute<{ n: number; kind: string }>(
        sql`select count(*)::int as n, (select relkind::text from pg_class
              where oid = 'chat_vectors_unpartitioned'::regclass) as kind from chat_vectors_unpartitioned`,
      )
      expect(rows[0]).toEqual({ n: 50, kind: 'r' })
    })
  })
}

const server = backends.find((b) => b.server)!

/** A server layer with one user's 20 vectors, and two clients of its database of our own. */
async function twentyVectors(label: string) {
  const data = await server.open({ embeddings: { dimensions: DIMENSIONS } })
  const user = await data.users.create({ email: uniqueEmail(label) })
  await data.vectors.upsert(
    Array.from({ length: 20 }, (_, i) => ({
      userId: user.id,
      content: `c${i}`,
      embedding: embeddingFrom(i + 1, DIMENSIONS),
    })),
  )
  const url = databaseUrlOf(data)
  const clients = [
    new pg.Client({ connectionString: url }),
    new pg.Client({ connectionString: url }),
  ]
  await Promise.all(clients.map((client) => client.connect()))
  return { data, user, clients: clients as [pg.Client, pg.Client] }
}

describe(`converting chat_vectors to hash partitions [${backendTitle(server)}]`, () => {
  it('gives up the swap lock when a long reader holds the table, lets other reads through, and swaps once it is gone', async () => {
    const {
      data,
      clients: [longReader, reader],
    } = await twentyVectors('swap')
    try {
      await longReader.query('begin')
      await longReader.query('select count(*) from chat_vectors')
      let settled = false
      const converting = data.vectors.partition({ partitions: 2 }).finally(() => {
        settled = true
      })
      await waitFor('the swap to wait for its lock', async () => {
        const { rows } = await reader.query(
          `select count(*)::int as n from pg_locks
            where relation = 'chat_vectors'::regclass and mode = 'AccessExclusiveLock' and not granted`,
        )
        return rows[0].n > 0
      })
      // Queued behind a lock request that never gives up, this read would wait for the long
      // reader, which is only released after it: the test would hang.
      const { rows } = await reader.query('select count(*)::int as n from chat_vectors')
      expect(rows[0].n).toBe(20)
      expect(settled).toBe(false)
      await longReader.query('commit')
      expect(await converting).toMatchObject({ converted: true, rows: 20 })
      const { rows: layout } = await reader.query(
        "select pg_get_partkeydef('chat_vectors'::regclass) as key",
      )
      expect(layout[0].key).toBe('HASH (user_id)')
    } finally {
      await longReader.end().catch(() => {})
      await reader.end().catch(() => {})
    }
  })

  it('never waits for the tables chat_vectors references while it holds chat_vectors: a writer holding a users row then writing a vector is not deadlocked', async () => {
    const {
      data,
      user,
      clients: [writer, watcher],
    } = await twentyVectors('deadlock')
    try {
      // An application transaction: it locks the user's row for an update of other columns
      // than keys (the copy's foreign key checks go on), then stores a vector of theirs.
      await writer.query('begin')
      await writer.query('select id from users where id = $1 for no key update', [user.id])
      const converting = data.vectors.partition({ partitions: 2 })
      // Dropping the old table (or a foreign key to users) must lock users, so the
      // conversion comes to wait for the writer's transaction.
      await waitFor('the conversion to wait for a lock on users', async () => {
        const { rows } = await watcher.query(
          `select count(*)::int as n from pg_locks
            where relation = 'users'::regclass and mode = 'AccessExclusiveLock' and not granted`,
        )
        return rows[0].n > 0
      })
      const embedding = `[${embeddingFrom(99, DIMENSIONS).join(',')}]`
      await writer.query(
        'insert into chat_vectors (user_id, content, embedding) values ($1, $2, $3)',
        [user.id, 'written meanwhile', embedding],
      )
      await writer.query('commit')
      expect(await converting).toMatchObject({ converted: true, rows: 20, oldTable: null })
      const { rows } = await watcher.query(
        `select count(*)::int as n, pg_get_partkeydef('chat_vectors'::regclass) as key,
                to_regclass('chat_vectors_unpartitioned') is null as dropped
           from chat_vectors where content = 'written meanwhile'`,
      )
      expect(rows[0]).toEqual({ n: 1, key: 'HASH (user_id)', dropped: true })
    } finally {
      await writer.end().catch(() => {})
      await watcher.end().catch(() => {})
    }
  })
})
