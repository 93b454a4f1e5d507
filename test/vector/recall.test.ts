import { beforeAll, describe, expect, it } from 'vitest'
import type { DataLayer, User } from '../../src/index.js'
import { exactCosineTop, gaussianMixture } from '../../src/testing/synthetic-vectors.js'
import { backends, backendTitle, uniqueEmail } from '../helpers/backends.js'

// The acceptance data set: 20,000 vectors of 384 dimensions from a seeded Gaussian mixture,
// spread over 100 users (1% of the rows each). Server only: PGlite would take minutes.
const DIMENSIONS = 384
const ROWS = 20_000
const USERS = 100

const mixture = gaussianMixture({
  dimensions: DIMENSIONS,
  centers: 40,
  noise: 2.5,
  seed: 20_261_123,
})
const point = () => mixture.point()
const exactTop = (query: number[], rows: { id: string; e: number[]; norm: number }[], k: number) =>
  exactCosineTop(
    query,
    rows.map((r) => ({ id: r.id, embedding: r.e, norm: r.norm })),
    k,
  )

const server = backends.find((b) => b.name === 'postgres')!

describe(`vector search quality on 20,000 x 384-d [${backendTitle(server)}]`, () => {
  let data: DataLayer
  let users: User[]
  const rows: { id: string; userId: string; e: number[]; norm: number }[] = []

  beforeAll(async () => {
    data = await server.open({ embeddings: { dimensions: DIMENSIONS } })
    users = await data.users.createMany(
      Array.from({ length: USERS }, (_, i) => ({ email: uniqueEmail(`recall${i}`) })),
    )
    // Bulk load without the index, then build it: how large loads should be done.
    await data.vectors.dropIndex('chat_vectors_embedding_cosine_idx')
    for (let start = 0; start < ROWS; start += 1000) {
      const items = Array.from({ length: 1000 }, (_, j) => ({
        userId: users[(start + j) % USERS]!.id,
        content: `v${start + j}`,
        embedding: point(),
      }))
      const stored = await data.vectors.upsert(items)
      stored.forEach((s, j) => {
        const e = items[j]!.embedding
        rows.push({
          id: s.id,
          userId: items[j]!.userId,
          e,
          norm: Math.sqrt(e.reduce((a, x) => a + x * x, 0)),
        })
      })
    }
    await data.vectors.ensureIndex({ metric: 'cosine' })
    await data.db.execute('analyze chat_vectors' as never)
  }, 300_000)

  it('returns exactly 10 for one user (1% of rows) with recall@10 of at least 0.99', async () => {
    let recall = 0
    const checked = users.slice(0, 20)
    for (const user of checked) {
      const query = point()
      const result = await data.vectors.search({
        userId: user.id,
        embedding: query,
        limit: 10,
        explain: true,
      })
      expect(result.hits).toHaveLength(10)
      const truth = new Set(
        exactTop(
          query,
          rows.filter((r) => r.userId === user.id),
          10,
        ),
      )
      recall += result.hits.filter((h) => truth.has(h.id)).length / 10
    }
    console.info(`[recall] one user (1%): recall@10 ${(recall / checked.length).toFixed(3)}`)
    expect(recall / checked.length).toBeGreaterThanOrEqual(0.99)
  }, 120_000)

  it('reaches recall@10 of at least 0.95 unfiltered with the default settings, through the index', async () => {
    let recall = 0
    const queries = 40
    for (let q = 0; q < queries; q++) {
      const query = point()
      const result = await data.vectors.search({
        scope: 'all',
        embedding: query,
        limit: 10,
        explain: true,
      })
      expect(result.hits).toHaveLength(10)
      if (q === 0) {
        expect(result.plan.postgresPlan.join('\n')).toContain(
          'Index Scan using chat_vectors_embedding_cosine_hnsw_idx',
        )
      }
      const truth = new Set(exactTop(query, rows, 10))
      recall += result.hits.filter((h) => truth.has(h.id)).length / 10
    }
    console.info(`[recall] unfiltered, defaults: recall@10 ${(recall / queries).toFixed(3)}`)
    expect(recall / queries).toBeGreaterThanOrEqual(0.95)
  }, 120_000)

  it('measures recall itself: near 1 at the defaults, lower with a starved candidate list', async () => {
    // One seed: every setting is measured on the same 40 queries.
    const defaults = await data.vectors.measureRecall({ sample: 40, seed: 7 })
    expect(defaults.queries).toBe(40)
    expect(defaults.efSearch).toBe(100)
    expect(defaults.recall).toBeGreaterThanOrEqual(0.95)
    // The same seed draws the same queries: the same figure again.
    expect((await data.vectors.measureRecall({ sample: 40, seed: 7 })).recall).toBe(defaults.recall)
    // A candidate list smaller than k returns fewer than k rows: recall must drop. (At ef 10
    // recall can tie the default's on a given graph and sample, so it is only printed.)
    const starved = await data.vectors.measureRecall({ sample: 40, efSearch: 4, seed: 7 })
    expect(starved.recall).toBeLessThan(defaults.recall)
    const low = await data.vectors.measureRecall({ sample: 40, efSearch: 10, seed: 7 })
    const pgvectorDefault = await data.vectors.measureRecall({ sample: 40, efSearch: 40, seed: 7 })
    const perUser = await data.vectors.measureRecall({ sample: 20, perUser: true })
    console.info(
      `[recall] measureRecall: ef 100 ${defaults.recall.toFixed(3)}, ef 40 ${pgvectorDefault.recall.toFixed(3)}, ef 10 ${low.recall.toFixed(3)}, ef 4 ${starved.recall.toFixed(3)}, per user ${perUser.recall.toFixed(3)}`,
    )
    expect(perUser.recall).toBeGreaterThanOrEqual(0.99)
  }, 120_000)
})
