import { sql } from 'drizzle-orm'
import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { createDataLayer } from '../../src/index.js'
import { backends, backendTitle, databaseUrlOf, uniqueEmail } from '../helpers/backends.js'

for (const backend of backends) {
  describe(`metrics and slow-query logging [${backendTitle(backend)}]`, () => {
    it('counts queries in a latency histogram and logs slow ones with values redacted', async () => {
      const logged: { object: Record<string, unknown>; message?: string }[] = []
      const logger = {
        warn: (object: Record<string, unknown>, message?: string) =>
          logged.push({ object, message }),
      }
      const data = await backend.open({ logger, database: { slowQueryMs: 300 } })
      const before = data.metrics().database.queries
      expect(before.instrumented).toBe(true)

      const user = await data.users.create({ email: uniqueEmail('metrics') })
      const beforeSelects = data.metrics().database.queries.total
      for (let i = 0; i < 10; i++) await data.db.execute(sql`SELECT ${i}::int AS i`)
      expect(data.metrics().database.queries.total - beforeSelects).toBe(10) // each counted once
      await data.users.findById(user.id)
      await expect(data.db.execute(sql.raw('SELECT * FROM no_such_table'))).rejects.toThrow()
      await data.db.execute(
        sql`SELECT pg_sleep(0.4), ${'param-secret'}::text AS p, 'literal-secret' AS l`,
      )

      const metrics = data.metrics()
      const queries = metrics.database.queries
      expect(queries.total - before.total).toBeGreaterThanOrEqual(13)
      expect(queries.errors - before.errors).toBe(1)
      // On a loaded machine another query may cross the threshold too: every slow query is
      // logged, and the sleeping one is among them exactly once.
      expect(queries.slow).toBe(logged.length)
      expect(queries.slowThresholdMs).toBe(300)
      const buckets = queries.durationMs.buckets
      expect(buckets.at(-1)).toEqual({ le: '+Inf', count: queries.total })
      for (let i = 1; i < buckets.length; i++)
        expect(buckets[i]!.count).toBeGreaterThanOrEqual(buckets[i - 1]!.count)
      expect(buckets.find((b) => b.le === 250)!.count).toBeLessThan(queries.total) // the sleep is past 250 ms
      expect(queries.durationMs.sum).toBeGreaterThan(400)
      expect(metrics.database.pool.total).toBeGreaterThanOrEqual(1)
      expect(metrics.cache).toMatchObject({ backend: 'memory' })
      expect(metrics.blobs).toMatchObject({ puts: 0 })

      const sleeping = logged.filter((l) => String(l.object.sql).includes('pg_sleep'))
      expect(sleeping).toHaveLength(1)
      expect(sleeping[0]!.message).toBe('stratum-data: slow query')
      expect(sleeping[0]!.object).toMatchObject({ params: '1 redacted', failed: false })
      for (const entry of logged)
        expect(Number(entry.object.durationMs)).toBeGreaterThanOrEqual(300)
      expect(JSON.stringify(logged)).not.toContain('secret')
    })

    if (backend.name === 'postgres') {
      it('leaves a pool passed in untouched (not instrumented)', async () => {
        const opened = await backend.open()
        const pool = new pg.Pool({ connectionString: databaseUrlOf(opened), max: 2 })
        const data = await createDataLayer({ database: { client: pool } })
        await data.users.findById('00000000-0000-7000-8000-000000000000')
        expect(data.metrics().database.queries).toMatchObject({ instrumented: false, total: 0 })
        await data.close()
        await pool.end()
      })
    }
  })
}
