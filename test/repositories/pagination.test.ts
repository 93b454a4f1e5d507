import { sql } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import type { DataLayer, User } from '../../src/index.js'
import { users } from '../../src/schema/index.js'
import { backendsWithPooler as backends, backendTitle } from '../helpers/backends.js'

async function collect(
  data: DataLayer,
  orderBy: Parameters<DataLayer['users']['findPage']>[0],
  limit: number,
) {
  const seen: User[] = []
  let cursor: string | null = null
  let pages = 0
  do {
    const page = await data.users.findPage({ ...orderBy, limit, cursor })
    seen.push(...page.items)
    cursor = page.nextCursor
    pages++
    if (pages > 10_000) throw new Error('pagination does not end')
  } while (cursor)
  return { seen, pages }
}

for (const backend of backends) {
  describe(`keyset pagination [${backendTitle(backend)}]`, () => {
    let data: DataLayer
    const total = 1000
    beforeAll(async () => {
      data = await backend.open()
      const rows = await data.users.createMany(
        Array.from({ length: total }, (_, i) => ({
          email: `page.${String(i).padStart(4, '0')}@example.com`,
          // Heavy ties: ten distinct first names; a third have no last name.
          firstName: `name-${i % 10}`,
          lastName: i % 3 === 0 ? null : `last-${i % 7}`,
        })),
      )
      // Give many rows the very same microsecond timestamp, and others distinct ones.
      await data.db.execute(
        sql`update ${users} set created_at = timestamptz '2026-01-01 00:00:00.123456+00' + ((row_number % 13) * interval '1 microsecond')
            from (select id, row_number() over (order by id) as row_number from ${users}) r where r.id = ${users.id}`,
      )
      expect(rows).toHaveLength(total)
    })

    it('returns each of 1,000 rows exactly once, newest first, with microsecond ties', async () => {
      const { seen, pages } = await collect(data, { orderBy: { createdAt: 'desc' } }, 37)
      expect(seen).toHaveLength(total)
      expect(new Set(seen.map((u) => u.id)).size).toBe(total)
      expect(pages).toBe(Math.ceil(total / 37))
    })

    it('handles mixed directions and a nullable column (NULLs last ascending)', async () => {
      const { seen } = await collect(data, { orderBy: { lastName: 'asc', firstName: 'desc' } }, 64)
      expect(seen).toHaveLength(total)
      expect(new Set(seen.map((u) => u.id)).size).toBe(total)
      const lastNames = seen.map((u) => u.lastName)
      const firstNull = lastNames.indexOf(null)
      expect(lastNames.slice(firstNull).every((v) => v === null)).toBe(true)
      expect(lastNames.slice(0, firstNull)).toEqual([...lastNames.slice(0, firstNull)].sort())
    })

    it('handles a nullable column descending (NULLs first)', async () => {
      const { seen } = await collect(data, { orderBy: { lastName: 'desc' } }, 100)
      expect(new Set(seen.map((u) => u.id)).size).toBe(total)
      expect(seen[0]!.lastName).toBeNull()
    })

    it('filters while paging and rejects a tampered or foreign cursor', async () => {
      const { seen } = await collect(
        data,
        { where: { firstName: 'name-3' }, orderBy: { email: 'asc' } },
        9,
      )
      expect(seen).toHaveLength(100)
      const page = await data.users.findPage({ orderBy: { email: 'asc' }, limit: 5 })
      await expect(
        data.users.findPage({ orderBy: { email: 'desc' }, cursor: page.nextCursor }),
      ).rejects.toMatchObject({
        code: 'VALIDATION',
      })
      await expect(data.users.findPage({ cursor: 'garbage' })).rejects.toMatchObject({
        code: 'VALIDATION',
      })
      await expect(data.users.findPage({ limit: 0 })).rejects.toMatchObject({ code: 'VALIDATION' })
    })
  })
}
