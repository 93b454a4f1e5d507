import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDataLayer, type DataLayer, type User } from '../../src/index.js'
import {
  backends,
  backendTitle,
  databaseUrlOf,
  embeddingFrom,
  partitionedBackends,
  uniqueEmail,
} from '../helpers/backends.js'
import { failure } from '../helpers/failure.js'

const DIMENSIONS = 16
const PARTITIONS = 4
const server = partitionedBackends.find((b) => b.server)!
const unpartitionedServer = backends.find((b) => b.server)!

/** Every user's rows, by the partition (table) that holds them. */
async function partitionsOfUsers(data: DataLayer): Promise<Map<string, string[]>> {
  const { rows } = await data.db.execute<{ user_id: string; part: string }>(
    sql`select distinct user_id::text as user_id, tableoid::regclass::text as part from chat_vectors`,
  )
  const out = new Map<string, string[]>()
  for (const row of rows) out.set(row.user_id, [...(out.get(row.user_id) ?? []), row.part])
  return out
}

for (const backend of partitionedBackends) {
  describe(`partitioned chat_vectors [${backendTitle(backend)}]`, () => {
    let data: DataLayer
    let users: User[]

    beforeAll(async () => {
      data = await backend.open({ embeddings: { dimensions: DIMENSIONS } })
      users = await data.users.createMany(
        Array.from({ length: 12 }, () => ({ email: uniqueEmail('part') })),
      )
      await data.vectors.upsert(
        Array.from({ length: 1200 }, (_, i) => ({
          userId: users[i % users.length]!.id,
          content: `chunk ${i}`,
          embedding: embeddingFrom(i + 1, DIMENSIONS),
        })),
      )
    })

    it('is hash-partitioned by user_id, each partition with its own vector index', async () => {
      const { rows: layout } = await data.db.execute<{ key: string; parts: number }>(
        sql`select pg_get_partkeydef('chat_vectors'::regclass) as key,
              (select count(*)::int from pg_inherits where inhparent = 'chat_vectors'::regclass) as parts`,
      )
      expect(layout[0]).toEqual({ key: 'HASH (user_id)', parts: PARTITIONS })
      // The shipped HNSW index is a partitioned index with one valid child per partition.
      const { rows: children } = await data.db.execute<{ part: string; valid: boolean }>(
        sql`select t.relname as part, i.indisvalid as valid from pg_inherits h
              join pg_index i on i.indexrelid = h.inhrelid join pg_class t on t.oid = i.indrelid
             where h.inhparent = 'chat_vectors_embedding_cosine_idx'::regclass order by 1`,
      )
      expect(children).toEqual(
        Array.from({ length: PARTITIONS }, (_, i) => ({ part: `chat_vectors_p${i}`, valid: true })),
      )
      // A user's rows live in exactly one partition, and the rows are spread over several.
      const placed = await partitionsOfUsers(data)
      expect(placed.size).toBe(users.length)
      for (const parts of placed.values()) expect(parts).toHaveLength(1)
      expect(new Set([...placed.values()].flat()).size).toBeGreaterThan(1)
    })

    it("searches one user's partition only, on that partition's index", async () => {
      const user = users[0]!
      const { hits, plan } = await data.vectors.search({
        userId: user.id,
        embedding: embeddingFrom(1, DIMENSIONS),
        exactSearchBelow: 0,
        efSearch: 40,
        explain: true,
      })
      expect(hits[0]!.content).toBe('chunk 0')
      const text = plan.postgresPlan.join('\n')
      const [home] = (await partitionsOfUsers(data)).get(user.id)!
      const scanned = new Set([...text.matchAll(/ on (chat_vectors_p\d+)/g)].map((m) => m[1]))
      expect([...scanned], text).toEqual([home])
      // The exact path prunes the same way.
      const exact = await data.vectors.search({
        userId: user.id,
        embedding: embeddingFrom(1, DIMENSIONS),
        exactSearchBelow: 10_000,
        explain: true,
      })
      expect(exact.plan.path).toBe('exact')
      const exactScanned = new Set(
        [...exact.plan.postgresPlan.join('\n').matchAll(/ on (chat_vectors_p\d+)/g)].map(
          (m) => m[1],
        ),
      )
      expect([...exactScanned]).toEqual([home])
    })

    it("the index path finds a user's exact nearest rows", async () => {
      for (const user of users.slice(0, 4)) {
        const query = embeddingFrom(5000 + users.indexOf(user), DIMENSIONS)
        const byIndex = await data.vectors.search({
          userId: user.id,
          embedding: query,
          limit: 5,
          exactSearchBelow: 0,
          efSearch: 200,
        })
        const exact = await data.vectors.search({
          userId: user.id,
          embedding: query,
          limit: 5,
          exactSearchBelow: 10_000,
        })
        expect(byIndex.map((h) => h.id)).toEqual(exact.map((h) => h.id))
      }
    })

    it("refuses an id or message chunk of another user's row, in small and COPY batches, writing nothing", async () => {
      const [alice, bob] = users
      const chat = await data.chats.create({ userId: alice!.id })
      const message = await data.messages.append({ chatId: chat.id, role: 'user', content: 'm' })
      const [byId] = await data.vectors.upsert([
        { userId: alice!.id, content: 'mine', embedding: embeddingFrom(1, DIMENSIONS) },
      ])
      await data.vectors.upsert([
        {
          userId: alice!.id,
          chatId: chat.id,
          messageId: message.id,
          content: 'mine',
          embedding: embeddingFrom(2, DIMENSIONS),
        },
      ])
      const count = async () =>
        (await data.db.execute<{ n: number }>(sql`select count(*)::int as n from chat_vectors`))
          .rows[0]!.n
      const before = await count()
      const stealId = {
        userId: bob!.id,
        id: byId!.id,
        content: 'x',
        embedding: embeddingFrom(3, DIMENSIONS),
      }
      const stealChunk = {
        userId: bob!.id,
        messageId: message.id,
        content: 'x',
        embedding: embeddingFrom(4, DIMENSIONS),
      }
      const filler = (n: number) =>
        Array.from({ length: n }, (_, i) => ({
          userId: bob!.id,
          content: `filler ${i}`,
          embedding: embeddingFrom(10_000 + i, DIMENSIONS),
        }))
      for (const batch of [
        [stealId],
        [stealChunk],
        [...filler(1100), stealChunk],
        [...filler(1100), stealId],
      ]) {
        expect(await failure(() => data.vectors.upsert(batch))).toMatchObject({ code: 'CONFLICT' })
      }
      expect(await count()).toBe(before)
      const { rows } = await data.db.execute<{ user_id: string; n: number }>(
        sql`select user_id::text as user_id, count(*)::int as n from chat_vectors
             where id = ${byId!.id} or message_id = ${message.id} group by 1`,
      )
      expect(rows).toEqual([{ user_id: alice!.id, n: 2 }])
      // The owner's own upserts by the same keys update in place.
      const again = await data.vectors.upsert([
        {
          userId: alice!.id,
          id: byId!.id,
          content: 'mine v2',
          embedding: embeddingFrom(1, DIMENSIONS),
        },
      ])
      expect(again[0]!.id).toBe(byId!.id)
      expect(await count()).toBe(before)
    })

    it('erases a user across the partitioned table', async () => {
      const user = users[11]!
      await data.users.erase(user.id)
      expect((await partitionsOfUsers(data)).has(user.id)).toBe(false)
    })
  })
}

describe(`partitioned chat_vectors on a server: layout checks and index builds [${backendTitle(server)}]`, () => {
  let data: DataLayer
  const others: DataLayer[] = []
  afterAll(async () => {
    await Promise.allSettled(others.map((o) => o.close()))
  })

  beforeAll(async () => {
    data = await server.open({ embeddings: { dimensions: DIMENSIONS } })
    const users = await data.users.createMany(
      Array.from({ length: 8 }, () => ({ email: uniqueEmail('build') })),
    )
    await data.vectors.upsert(
      Array.from({ length: 2000 }, (_, i) => ({
        userId: users[i % users.length]!.id,
        content: `c${i}`,
        embedding: embeddingFrom(i + 7, DIMENSIONS),
      })),
    )
  })

  it('refuses a partition count other than the database has, and adapts when none is given', async () => {
    const url = databaseUrlOf(data)
    for (const partitions of [2, 8]) {
      const error = await failure(() =>
        createDataLayer({ databaseUrl: url, embeddings: { dimensions: DIMENSIONS, partitions } }),
      )
      expect(error.code).toBe('CONFIG')
      expect(error.message).toContain(`${PARTITIONS} hash partitions`)
      expect(error.message).toContain('embeddings.partitions')
    }
    // Without the option the table is used as it is: upserts pick the partitioned keys.
    const plain = await createDataLayer({
      databaseUrl: url,
      embeddings: { dimensions: DIMENSIONS },
    })
    others.push(plain)
    const user = await plain.users.create({ email: uniqueEmail('adapt') })
    const [row] = await plain.vectors.upsert([
      { userId: user.id, content: 'a', embedding: embeddingFrom(1, DIMENSIONS) },
    ])
    const [again] = await plain.vectors.upsert([
      { userId: user.id, id: row!.id, content: 'b', embedding: embeddingFrom(1, DIMENSIONS) },
    ])
    expect(again!.id).toBe(row!.id)

    // And one table is not taken for a partitioned one.
    const single = await unpartitionedServer.open({ embeddings: { dimensions: DIMENSIONS } })
    const refused = await failure(() =>
      createDataLayer({
        databaseUrl: databaseUrlOf(single),
        embeddings: { dimensions: DIMENSIONS, partitions: PARTITIONS },
      }),
    )
    expect(refused.code).toBe('CONFIG')
    expect(refused.message).toContain('one table')
  })

  it('builds an index partition by partition while writes go on, and resumes an interrupted build', async () => {
    const user = await data.users.create({ email: uniqueEmail('writer') })
    let writing = true
    let written = 0
    const writer = (async () => {
      while (writing) {
        await data.vectors.upsert([
          {
            userId: user.id,
            content: `w${written}`,
            embedding: embeddingFrom(written + 50_000, DIMENSIONS),
          },
        ])
        written += 1
      }
    })()
    const built = await data.vectors.ensureIndex({ metric: 'l2' })
    writing = false
    await writer
    expect(built).toEqual({ name: 'chat_vectors_embedding_l2_hnsw_idx', created: true })
    expect(written).toBeGreaterThan(0)
    const listed = await data.vectors.indexes()
    expect(listed.find((i) => i.metric === 'l2')).toMatchObject({ valid: true, type: 'hnsw' })

    // An interrupted build: the parent index and one partition's index exist, the rest not.
    const name = 'chat_vectors_embedding_inner_product_hnsw_idx'
    await data.db.execute(
      sql.raw(`create index "${name}" on only chat_vectors using hnsw (embedding vector_ip_ops)`),
    )
    await data.db.execute(
      sql.raw(
        `create index "chat_vectors_p0_embedding_inner_product_hnsw_idx" on chat_vectors_p0 using hnsw (embedding vector_ip_ops)`,
      ),
    )
    await data.db.execute(
      sql.raw(
        `alter index "${name}" attach partition "chat_vectors_p0_embedding_inner_product_hnsw_idx"`,
      ),
    )
    expect((await data.vectors.indexes()).find((i) => i.name === name)?.valid).toBe(false)
    expect(await data.vectors.ensureIndex({ metric: 'inner_product' })).toEqual({
      name,
      created: true,
    })
    expect((await data.vectors.indexes()).find((i) => i.name === name)?.valid).toBe(true)
    const { rows } = await data.db.execute<{ n: number }>(
      sql`select count(*)::int as n from pg_inherits where inhparent = ${name}::regclass`,
    )
    expect(rows[0]!.n).toBe(PARTITIONS)
    // Dropping takes the partitions' indexes with it (no CONCURRENTLY for partitioned indexes).
    expect(await data.vectors.dropIndex(name)).toBe(true)
    const { rows: left } = await data.db.execute<{ n: number }>(
      sql`select count(*)::int as n from pg_class where relname like '%inner_product_hnsw_idx'`,
    )
    expect(left[0]!.n).toBe(0)
  }, 120_000)
})
