import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import pg from 'pg'
import { from as copyFrom } from 'pg-copy-streams'
import { v7 as uuidv7 } from 'uuid'
import { createDataLayer } from '../src/index.js'
import { exactCosineTop, gaussianMixture, norm } from '../src/testing/synthetic-vectors.js'
import { cloneDatabase, dropDatabase, templateNameFor } from '../src/testing/template-databases.js'
import { compareAtConcurrencies, printTable } from './measure.js'

const ROWS = Number(process.env.BENCH_VECTORS ?? 100_000)
const DIMENSIONS = 384
const USERS = 100
const QUERIES = 50
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 2000)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
const EF_SEARCH = 100
/** What a search returns, so raw SQL does the same work as `vectors.search`. */
const RESULT_COLUMNS = 'id, content, metadata, chat_id, message_id, chunk_index'

interface Row {
  id: string
  userId: string
  content: string
  embedding: number[]
  norm: number
}

/**
 * Vector ingest and search on generated data (never committed): `upsert` against raw COPY of
 * the same rows, the HNSW build, and search QPS and recall@10 at concurrency 4 against raw
 * SQL with the same index and ef_search, unfiltered and for one user (1% of the rows).
 */
export async function benchVectorSearch(adminUrl: string): Promise<void> {
  console.log(
    `\n## Vectors (${ROWS.toLocaleString('en-US')} x ${DIMENSIONS}-d, Gaussian mixture, ${USERS} users)`,
  )
  const mixture = gaussianMixture({ dimensions: DIMENSIONS, centers: 40, noise: 2.5, seed: 7 })
  const raw = await cloneDatabase(
    adminUrl,
    templateNameFor({ embeddings: { dimensions: DIMENSIONS } }),
  )
  const ours = await cloneDatabase(
    adminUrl,
    templateNameFor({ embeddings: { dimensions: DIMENSIONS } }),
  )
  const data = await createDataLayer({
    databaseUrl: ours.url,
    embeddings: { dimensions: DIMENSIONS },
    database: { pool: { max: 8 } },
  })
  const rawPool = new pg.Pool({ connectionString: raw.url, max: 8 })
  try {
    const users = await data.users.createMany(
      Array.from({ length: USERS }, (_, i) => ({ email: `vec${i}@example.com` })),
    )
    // The same users in the raw database, for its foreign keys.
    for (const user of users) {
      await rawPool.query('insert into users (id, email) values ($1, $2)', [user.id, user.email])
    }
    const rows: Row[] = Array.from({ length: ROWS }, (_, i) => {
      const embedding = mixture.point().map((x) => Math.fround(x))
      return {
        id: uuidv7(),
        userId: users[i % USERS]!.id,
        content: `chunk ${i}`,
        embedding,
        norm: norm(embedding),
      }
    })
    // Both load without the index, then build it: how bulk loads are done.
    await data.vectors.dropIndex('chat_vectors_embedding_cosine_idx')
    await rawPool.query('drop index chat_vectors_embedding_cosine_idx')

    const rawStarted = performance.now()
    const client = await rawPool.connect()
    try {
      const lines = function* () {
        for (let i = 0; i < rows.length; i += 1000) {
          yield rows
            .slice(i, i + 1000)
            .map((r) => `${r.id}\t${r.userId}\t${r.content}\t[${r.embedding.join(',')}]\n`)
            .join('')
        }
      }
      await pipeline(
        Readable.from(lines()),
        client.query(copyFrom('COPY chat_vectors (id, user_id, content, embedding) FROM STDIN')),
      )
    } finally {
      client.release()
    }
    const rawSeconds = (performance.now() - rawStarted) / 1000

    // Ours gets no ids (it makes them), as an app ingesting documents would.
    const oursStarted = performance.now()
    const ourIds: string[] = []
    for (let i = 0; i < rows.length; i += 10_000) {
      const stored = await data.vectors.upsert(
        rows.slice(i, i + 10_000).map((r) => ({
          userId: r.userId,
          content: r.content,
          embedding: r.embedding,
        })),
      )
      ourIds.push(...stored.map((s) => s.id))
    }
    const oursSeconds = (performance.now() - oursStarted) / 1000
    const ourRows = rows.map((r, i) => ({ ...r, id: ourIds[i]! }))

    const buildStarted = performance.now()
    await data.vectors.ensureIndex({ metric: 'cosine', maintenanceWorkMem: '512MB' })
    const buildSeconds = (performance.now() - buildStarted) / 1000
    await rawPool.query(
      "set maintenance_work_mem = '512MB'; create index on chat_vectors using hnsw (embedding vector_cosine_ops)",
    )
    await rawPool.query('analyze chat_vectors')
    await data.db.execute('analyze chat_vectors' as never)

    printTable(
      ['measure', 'value'],
      [
        ['raw COPY (text), rows/s', Math.round(ROWS / rawSeconds).toLocaleString('en-US')],
        [
          'vectors.upsert (COPY + merge), rows/s',
          Math.round(ROWS / oursSeconds).toLocaleString('en-US'),
        ],
        ['  ratio (goal >= 0.8)', (rawSeconds / oursSeconds).toFixed(2)],
        ['HNSW build (m 16, ef_construction 64, 512MB), s', buildSeconds.toFixed(1)],
      ],
    )

    const queries = Array.from({ length: QUERIES }, () => mixture.point())
    const filterUser = users[0]!.id
    const truths = (of: Row[]) => ({
      all: queries.map((q) => new Set(exactCosineTop(q, of, 10))),
      user: queries.map(
        (q) =>
          new Set(
            exactCosineTop(
              q,
              of.filter((r) => r.userId === filterUser),
              10,
            ),
          ),
      ),
    })
    const rawTruth = truths(rows)
    const ourTruth = truths(ourRows)
    const vector = (q: number[]) => `[${q.join(',')}]`

    const rawSearch = async (
      sqlText: string,
      settings: string,
      params: (q: number[]) => unknown[],
      q: number[],
    ) => {
      const c = await rawPool.connect()
      try {
        await c.query(`begin; ${settings}`)
        const result = await c.query<{ id: string }>(sqlText, params(q))
        await c.query('commit')
        return result.rows.map((r) => r.id)
      } finally {
        c.release()
      }
    }
    const rawUnfiltered = (q: number[]) =>
      rawSearch(
        `select ${RESULT_COLUMNS}, embedding <=> $1::vector as distance from chat_vectors order by embedding <=> $1::vector limit 10`,
        `set local hnsw.ef_search = ${EF_SEARCH}`,
        (x) => [vector(x)],
        q,
      )
    const rawFiltered = (settings: string) => (q: number[]) =>
      rawSearch(
        `select ${RESULT_COLUMNS}, embedding <=> $1::vector as distance from chat_vectors where user_id = $2 order by embedding <=> $1::vector limit 10`,
        settings,
        (x) => [vector(x), filterUser],
        q,
      )
    const oursUnfiltered = async (q: number[]) =>
      (await data.vectors.search({ scope: 'all', embedding: q, limit: 10 })).map((h) => h.id)
    const oursFiltered = async (q: number[]) =>
      (await data.vectors.search({ userId: filterUser, embedding: q, limit: 10 })).map((h) => h.id)

    const quality = async (run: (q: number[]) => Promise<string[]>, truth: Set<string>[]) => {
      let recall = 0
      let returned = 0
      for (let i = 0; i < QUERIES; i++) {
        const ids = await run(queries[i]!)
        returned += ids.length
        recall += ids.filter((id) => truth[i]!.has(id)).length / 10
      }
      return { recall: recall / QUERIES, rows: returned / QUERIES }
    }
    const iterative = `set local hnsw.ef_search = ${EF_SEARCH}; set local hnsw.iterative_scan = relaxed_order`
    const measured = [
      ['raw SQL unfiltered', await quality(rawUnfiltered, rawTruth.all)],
      ['ours unfiltered', await quality(oursUnfiltered, ourTruth.all)],
      ['raw SQL 1% filter, pgvector defaults', await quality(rawFiltered(''), rawTruth.user)],
      [
        'raw SQL 1% filter, iterative relaxed_order',
        await quality(rawFiltered(iterative), rawTruth.user),
      ],
      ['ours 1% filter', await quality(oursFiltered, ourTruth.user)],
    ] as const
    printTable(
      ['search (recall@10 vs exact, mean rows returned of 10)', 'recall@10', 'rows'],
      measured.map(([name, m]) => [name, m.recall.toFixed(3), m.rows.toFixed(1)]),
    )
    const pick = (run: (q: number[]) => Promise<string[]>) => (i: number) =>
      run(queries[i % QUERIES]!)
    const unfiltered = await compareAtConcurrencies(pick(rawUnfiltered), pick(oursUnfiltered), {
      levels: [4],
      durationMs: DURATION_MS,
      rounds: ROUNDS,
    })
    const filtered = await compareAtConcurrencies(
      pick(rawFiltered(iterative)),
      pick(oursFiltered),
      {
        levels: [4],
        durationMs: DURATION_MS,
        rounds: ROUNDS,
      },
    )
    printTable(
      ['query', 'concurrency', 'raw SQL', 'ours', 'ratio'],
      [
        [`unfiltered (ef_search ${EF_SEARCH} both)`, ...unfiltered[0]!],
        ['1% filter (raw: iterative relaxed_order)', ...filtered[0]!],
      ],
    )
    console.log(
      'goals: ingest >= 0.8 of raw COPY; unfiltered QPS >= 0.9 of raw SQL; filtered: 10 rows, recall >= 0.99, QPS >= 2x raw SQL with iterative scan',
    )
  } finally {
    await data.close()
    await rawPool.end()
    await dropDatabase(adminUrl, ours.name)
    await dropDatabase(adminUrl, raw.name)
  }
}
