import { createDataLayer, type DataLayer } from '../src/index.js'
import {
  exactCosineTop,
  gaussianMixture,
  norm,
  seededRandom,
} from '../src/testing/synthetic-vectors.js'
import {
  cloneDatabase,
  dropDatabase,
  ensureTemplateDatabase,
} from '../src/testing/template-databases.js'
import { compareAtConcurrencies, printTable } from './measure.js'

const ROWS = Number(process.env.BENCH_VECTORS ?? 100_000)
const DIMENSIONS = 384
const USERS = 40
const PARTITIONS = 16
const QUERIES = 100
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 2000)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)

interface Row {
  id: string
  userId: string
  embedding: number[]
  norm: number
}

interface Side {
  readonly data: DataLayer
  readonly drop: () => Promise<void>
  rows: Row[]
  loadSeconds: number
  buildSeconds: number
}

/**
 * Per-tenant search on one table against the same rows in hash partitions by user_id
 * (`embeddings.partitions`), both through `vectors.search` with its defaults: 100,000
 * vectors of 40 users (2,500 each, so searches take the HNSW path, not the exact one),
 * the same generated points, queries and HNSW settings. Also the cross-tenant search
 * (`scope: 'all'`), which partitioning makes merge one index scan per partition.
 */
export async function benchPartitionedVectors(adminUrl: string): Promise<void> {
  console.log(
    `\n## Partitioned vectors (${ROWS.toLocaleString('en-US')} x ${DIMENSIONS}-d, ${USERS} users, one table vs ${PARTITIONS} hash partitions by user_id)`,
  )
  const open = async (partitions?: number): Promise<Side> => {
    const embeddings = { dimensions: DIMENSIONS, ...(partitions ? { partitions } : {}) }
    const template = await ensureTemplateDatabase(adminUrl, { embeddings })
    const clone = await cloneDatabase(adminUrl, template)
    const data = await createDataLayer({
      databaseUrl: clone.url,
      embeddings,
      database: { pool: { max: 8 } },
    })
    return {
      data,
      drop: async () => {
        await data.close()
        await dropDatabase(adminUrl, clone.name)
      },
      rows: [],
      loadSeconds: 0,
      buildSeconds: 0,
    }
  }
  const single = await open()
  const partitioned = await open(PARTITIONS)
  try {
    const mixture = gaussianMixture({ dimensions: DIMENSIONS, centers: 40, noise: 2.5, seed: 11 })
    const points = Array.from({ length: ROWS }, () => mixture.point().map((x) => Math.fround(x)))
    for (const side of [single, partitioned]) {
      const users = await side.data.users.createMany(
        Array.from({ length: USERS }, (_, i) => ({ email: `part${i}@example.com` })),
      )
      // Loaded without the vector index, which is then built: how bulk loads are done.
      await side.data.vectors.dropIndex('chat_vectors_embedding_cosine_idx')
      const started = performance.now()
      for (let i = 0; i < ROWS; i += 10_000) {
        const batch = points.slice(i, i + 10_000).map((embedding, j) => ({
          userId: users[(i + j) % USERS]!.id,
          content: `chunk ${i + j}`,
          embedding,
        }))
        const stored = await side.data.vectors.upsert(batch)
        side.rows.push(
          ...stored.map((s, j) => ({
            id: s.id,
            userId: batch[j]!.userId,
            embedding: batch[j]!.embedding,
            norm: norm(batch[j]!.embedding),
          })),
        )
      }
      side.loadSeconds = (performance.now() - started) / 1000
      const building = performance.now()
      await side.data.vectors.ensureIndex({ metric: 'cosine', maintenanceWorkMem: '512MB' })
      side.buildSeconds = (performance.now() - building) / 1000
      await side.data.db.execute('analyze chat_vectors' as never)
    }
    printTable(
      ['measure', 'one table', `${PARTITIONS} partitions`, 'ratio'],
      [
        [
          'vectors.upsert (COPY), rows/s',
          Math.round(ROWS / single.loadSeconds).toLocaleString('en-US'),
          Math.round(ROWS / partitioned.loadSeconds).toLocaleString('en-US'),
          (single.loadSeconds / partitioned.loadSeconds).toFixed(2),
        ],
        [
          'HNSW build (m 16, ef_construction 64, 512MB), s',
          single.buildSeconds.toFixed(1),
          partitioned.buildSeconds.toFixed(1),
          (partitioned.buildSeconds / single.buildSeconds).toFixed(2),
        ],
      ],
    )

    // The same queries on both sides: a user (by position) and a point of the mixture.
    const random = seededRandom(5)
    const queries = Array.from({ length: QUERIES }, () => ({
      user: Math.floor(random() * USERS),
      embedding: mixture.point(),
    }))
    const userIds = (side: Side) => [...new Set(side.rows.map((r) => r.userId))]
    const perUser = (side: Side) => {
      const ids = userIds(side)
      return queries.map((q) => {
        const userId = ids[q.user]!
        return {
          userId,
          embedding: q.embedding,
          truth: new Set(
            exactCosineTop(
              q.embedding,
              side.rows.filter((r) => r.userId === userId),
              10,
            ),
          ),
          all: new Set(exactCosineTop(q.embedding, side.rows, 10)),
        }
      })
    }
    const cases = new Map([single, partitioned].map((side) => [side, perUser(side)]))
    const tenantSearch = (side: Side) => async (i: number) => {
      const q = cases.get(side)![i % QUERIES]!
      return (
        await side.data.vectors.search({ userId: q.userId, embedding: q.embedding, limit: 10 })
      ).map((h) => h.id)
    }
    const globalSearch = (side: Side) => async (i: number) => {
      const q = cases.get(side)![i % QUERIES]!
      return (
        await side.data.vectors.search({ scope: 'all', embedding: q.embedding, limit: 10 })
      ).map((h) => h.id)
    }
    const recall = async (
      side: Side,
      run: (i: number) => Promise<string[]>,
      which: 'truth' | 'all',
    ) => {
      let sum = 0
      for (let i = 0; i < QUERIES; i++) {
        const ids = await run(i)
        const truth = cases.get(side)![i]![which]
        sum += ids.filter((id) => truth.has(id)).length / 10
      }
      return (sum / QUERIES).toFixed(3)
    }
    printTable(
      ['recall@10 against exact search', 'one table', `${PARTITIONS} partitions`],
      [
        [
          "one user's vectors (2.5% of rows)",
          await recall(single, tenantSearch(single), 'truth'),
          await recall(partitioned, tenantSearch(partitioned), 'truth'),
        ],
        [
          "every user's vectors (scope: 'all')",
          await recall(single, globalSearch(single), 'all'),
          await recall(partitioned, globalSearch(partitioned), 'all'),
        ],
      ],
    )
    const options = { levels: [1, 4], durationMs: DURATION_MS, rounds: ROUNDS }
    const tenant = await compareAtConcurrencies(
      tenantSearch(single),
      tenantSearch(partitioned),
      options,
    )
    const global = await compareAtConcurrencies(
      globalSearch(single),
      globalSearch(partitioned),
      options,
    )
    printTable(
      ['search QPS', 'concurrency', 'one table', `${PARTITIONS} partitions`, 'ratio'],
      [
        ...tenant.map((row) => ["one user's vectors", ...row]),
        ...global.map((row) => ["every user's (scope: 'all')", ...row]),
      ],
    )
  } finally {
    await single.drop()
    await partitioned.drop()
  }
}
