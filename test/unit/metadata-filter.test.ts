import { jsonb, PgDialect, pgTable, uuid } from 'drizzle-orm/pg-core'
import { describe, expect, it } from 'vitest'
import { compileMetadataFilter, metadataFilterSchema } from '../../src/vector/metadata-filter.js'

const t = pgTable('t', { id: uuid('id').primaryKey(), metadata: jsonb('metadata') })
const dialect = new PgDialect()
const compile = (filter: Parameters<typeof compileMetadataFilter>[1]) =>
  dialect.sqlToQuery(compileMetadataFilter(t.metadata, filter))

describe('metadata filters (pure)', () => {
  it('bind every key and value as a parameter, never as SQL text', () => {
    const hostile = "x'); drop table t; --"
    const { sql, params } = compile({
      and: [
        { key: hostile, eq: hostile },
        { key: ['a', hostile], in: [hostile, 1] },
      ],
    })
    expect(sql).not.toContain(hostile)
    expect(sql).not.toContain('drop table')
    expect(params).toEqual([
      [hostile],
      JSON.stringify(hostile),
      ['a', hostile],
      JSON.stringify([hostile, 1]),
    ])
  })

  it('compare ranges only within one JSON type, and treat a missing value as no match', () => {
    const { sql, params } = compile({ key: 'page', gte: 3, lt: 10 })
    expect(sql.match(/jsonb_typeof/g)).toHaveLength(4)
    expect(sql.startsWith('coalesce(')).toBe(true)
    expect(params).toEqual([['page'], '3', ['page'], '3', ['page'], '10', ['page'], '10'])
  })

  it('negate with not coalesce(..., false), so a missing key matches not', () => {
    const { sql } = compile({ not: { key: 'archived', eq: true } })
    expect(sql.startsWith('(not coalesce(')).toBe(true)
  })

  it('refuse more than 100 conditions and more than 8 levels of nesting', () => {
    const many = { or: Array.from({ length: 101 }, (_, i) => ({ key: 'k', eq: i })) }
    expect(() => compile(many)).toThrow('at most 100 conditions')
    let deep: Parameters<typeof compileMetadataFilter>[1] = { key: 'k', eq: 1 }
    for (let i = 0; i < 9; i++) deep = { not: deep }
    expect(() => compile(deep)).toThrow('at most 8 levels')
  })

  it('validate values: no NaN, no Infinity, no functions, no unknown operators', () => {
    for (const bad of [
      { key: 'k', eq: Number.NaN },
      { key: 'k', eq: Number.POSITIVE_INFINITY },
      { key: 'k', eq: () => 1 },
      { key: 'k', like: '%' },
      { and: 'x' },
    ])
      expect(metadataFilterSchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false)
    expect(metadataFilterSchema.safeParse({ key: ['a', 'b'], exists: false }).success).toBe(true)
  })
})
