import { getTableColumns } from 'drizzle-orm'
import {
  bigint,
  integer,
  jsonb,
  numeric,
  pgTable,
  text,
  timestamp,
  uuid,
} from 'drizzle-orm/pg-core'
import { describe, expect, it } from 'vitest'
import { isStratumError } from '../../src/index.js'
import { compileWhere } from '../../src/repositories/filters.js'

// compileWhere on its own (no database): which values each column type takes.

const table = pgTable('filter_probe', {
  id: uuid('id').primaryKey(),
  title: text('title'),
  amount: numeric('amount'),
  views: bigint('views', { mode: 'bigint' }),
  count: integer('count'),
  at: timestamp('at', { withTimezone: true }),
  data: jsonb('data'),
})
const columns = getTableColumns(table)
const compile = (where: Record<string, unknown>) => compileWhere(columns, where, 'probe')
const refused = (where: Record<string, unknown>): string | undefined => {
  try {
    compile(where)
    return undefined
  } catch (error) {
    expect(isStratumError(error, 'VALIDATION')).toBe(true)
    return (error as Error).message
  }
}

describe('compileWhere', () => {
  it('takes the JavaScript type of each column, and the lossless conversions', () => {
    for (const where of [
      { title: 'a', count: 3, at: new Date(0) },
      { amount: '1.50' },
      { amount: 1.5 },
      { views: 10n },
      { views: 10 },
      { count: { in: [1, 2], gte: 0 } },
      { data: { eq: { any: ['json'] } } },
      { title: { like: 'a%', isNull: false } },
      { title: null, at: { lt: new Date(1) } },
    ])
      expect(
        refused(where),
        JSON.stringify(where, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v)),
      ).toBeUndefined()
  })

  it('refuses values of another type with VALIDATION naming the path', () => {
    expect(refused({ at: 'yesterday' })).toContain('where.at: must be a Date')
    expect(refused({ count: '3' })).toContain('where.count: must be a number')
    expect(refused({ count: { in: [1, 'x'] } })).toContain('[1] must be a number')
    expect(refused({ views: 1.5 })).toContain('must be a bigint')
    expect(refused({ count: Number.NaN })).toContain('must be a finite number')
    expect(refused({ at: new Date(Number.NaN) })).toContain('must be a valid Date')
    expect(refused({ count: { like: '1%' } })).toContain('text columns only')
    expect(refused({ title: 'a\uD800' })).toContain('lone UTF-16 surrogate')
    expect(refused({ title: new Map() })).toContain('where.title: must be a string')
    expect(refused({ nope: 1 })).toContain('is not a column')
    expect(refused({ title: { between: 1 } })).toContain('is not a filter operator')
  })

  it('takes objects without a prototype as operator objects, and refuses a where that is not an object', () => {
    const operators = Object.assign(Object.create(null), { eq: 'a' })
    expect(refused({ title: operators })).toBeUndefined()
    expect(refused(Object.assign(Object.create(null), { title: 'a' }))).toBeUndefined()
    expect(refused('title' as never)).toContain('must be an object')
  })
})
