import { sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { backends, backendTitle } from '../helpers/backends.js'

for (const backend of backends) {
  describe(`doctor [${backendTitle(backend)}]`, () => {
    it('reports every check, and flags an IVFFlat index whose lists do not fit its rows', async () => {
      const data = await backend.open({ embeddings: { dimensions: 384 } })
      const healthy = await data.doctor()
      expect(healthy.checks.map((c) => c.name)).toEqual([
        'unused indexes',
        'table and index sizes, bloat estimate',
        'tables needing VACUUM or ANALYZE',
        'connections',
        'buffer cache hit ratio',
        'vector indexes',
        'extensions',
      ])
      const vectors = healthy.checks.find((c) => c.name === 'vector indexes')!
      expect(vectors.status).toBe('ok')
      const extensions = healthy.checks.find((c) => c.name === 'extensions')!
      expect(extensions.rows.map((r) => r.name)).toContain('vector')
      const sizes = healthy.checks.find((c) => c.name.startsWith('table and index sizes'))!
      expect(sizes.rows.map((r) => r.table)).toEqual(
        expect.arrayContaining(['users', 'chat_vectors']),
      )

      await data.db.execute(sql.raw('CREATE TABLE doctor_points (embedding vector(3))'))
      await data.db.execute(
        sql.raw(
          'INSERT INTO doctor_points SELECT ARRAY[random(), random(), random()]::vector FROM generate_series(1, 20000)',
        ),
      )
      await data.db.execute(sql.raw('ANALYZE doctor_points'))
      await data.db.execute(
        sql.raw(
          'CREATE INDEX doctor_points_ivf ON doctor_points USING ivfflat (embedding vector_l2_ops) WITH (lists = 1)',
        ),
      )
      const report = await data.doctor()
      const flagged = report.checks.find((c) => c.name === 'vector indexes')!
      expect(flagged.status).toBe('warn')
      expect(flagged.summary).toMatch(
        /doctor_points_ivf: lists 1 is far from about 20 for 20000 rows/,
      )
      expect(report.warnings).toBeGreaterThanOrEqual(1)
    })
  })
}
