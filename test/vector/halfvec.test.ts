import { sql } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import type { DataLayer, User } from '../../src/index.js'
import { createDataLayer } from '../../src/index.js'
import { gaussianMixture } from '../../src/testing/synthetic-vectors.js'
import { vectorBackends as backends, backendTitle, uniqueEmail } from '../helpers/backends.js'

// More than pgvector indexes on `vector` (2,000): the indexes are on embedding::halfvec(N).
const DIMENSIONS = 3072
const ROWS = 200

for (const backend of backends) {
  describe(`embeddings of ${DIMENSIONS} dimensions (halfvec indexes) [${backendTitle(backend)}]`, () => {
    let data: DataLayer
    let user: User
    let points: number[][]

    beforeAll(async () => {
      data = await backend.open({ embeddings: { dimensions: DIMENSIONS } })
      user = await data.users.create({ email: uniqueEmail('halfvec') })
      const mixture = gaussianMixture({ dimensions: DIMENSIONS, centers: 20, noise: 0.3, seed: 5 })
      points = Array.from({ length: ROWS }, () => mixture.point())
      for (let start = 0; start < ROWS; start += 250)
        await data.vectors.upsert(
          points.slice(start, start + 250).map((embedding, i) => ({
            userId: user.id,
            content: `p${start + i}`,
            embedding,
          })),
        )
    }, 180_000)

    it('migrates with the shipped HNSW index on halfvec and lists it as the cosine index', async () => {
      expect(data.embeddingDimensions).toBe(DIMENSIONS)
      expect(await data.vectors.indexes()).toEqual([
        expect.objectContaining({
          name: 'chat_vectors_embedding_cosine_idx',
          type: 'hnsw',
          metric: 'cosine',
          valid: true,
        }),
      ])
      const [definition] = (
        await data.db.execute<{ indexdef: string }>(
          sql`SELECT indexdef FROM pg_indexes WHERE indexname = 'chat_vectors_embedding_cosine_idx'`,
        )
      ).rows
      expect(definition?.indexdef).toContain(`halfvec(${DIMENSIONS})`)
      expect(definition?.indexdef).toContain('halfvec_cosine_ops')
    })

    it('serves every metric from its halfvec index (EXPLAIN), nearest first', async () => {
      const expected = {
        cosine: 'chat_vectors_embedding_cosine_idx',
        l2: 'chat_vectors_embedding_l2_hnsw_idx',
        inner_product: 'chat_vectors_embedding_inner_product_hnsw_idx',
      } as const
      for (const metric of ['cosine', 'l2', 'inner_product'] as const) {
        expect((await data.vectors.ensureIndex({ metric })).name).toBe(expected[metric])
        // On 200 rows the planner rightly prefers a sequential scan; with it disabled it
        // must take an index, and only one built on the very expression the query orders by
        // can serve it (otherwise the plan still shows a Seq Scan).
        const { plan, hits } = await data.transaction(async (tx) => {
          await tx.db.execute(sql`SET LOCAL enable_seqscan = off`)
          return tx.vectors.search({
            scope: 'all',
            embedding: points[7]!,
            metric,
            efSearch: 40,
            explain: true,
          })
        })
        expect(plan.path).toBe('index')
        // By name as indexes() lists it: on a partitioned table each partition's own index
        // is reported as the index of chat_vectors it belongs to.
        expect(plan.indexes, plan.postgresPlan.join('\n')).toEqual([expected[metric]])
        expect(hits).toHaveLength(10)
        expect(hits[0]?.content, metric).toBe('p7')
      }
      const listed = await data.vectors.indexes()
      expect(listed.map((i) => i.metric).sort()).toEqual(['cosine', 'inner_product', 'l2'])
    }, 120_000)

    it('ranks the exact path on the stored full-precision vectors', async () => {
      const { hits, plan } = await data.vectors.search({
        userId: user.id,
        embedding: points[3]!,
        explain: true,
      })
      expect(plan.path).toBe('exact')
      expect(hits[0]?.content).toBe('p3')
      // Full precision: the distance of a vector to itself is 0 up to float rounding; through
      // 16-bit halfvec it would be about 1e-4 or more.
      expect(Math.abs(hits[0]!.distance)).toBeLessThan(1e-6)
    })

    it('measures recall of the halfvec index against exact search', async () => {
      const report = await data.vectors.measureRecall({ sample: 20 })
      expect(report.queries).toBe(20)
      expect(report.recall).toBeGreaterThanOrEqual(0.95)
    }, 120_000)
  })
}

describe('embedding dimensions past the halfvec limit', () => {
  it('refuses more than 4,000 with CONFIG', async () => {
    await expect(createDataLayer({ embeddings: { dimensions: 4001 } })).rejects.toMatchObject({
      code: 'CONFIG',
      message: expect.stringContaining('embeddings.dimensions'),
    })
  })
})
