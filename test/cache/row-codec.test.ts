import { randomBytes } from 'node:crypto'
import { getTableColumns, sql } from 'drizzle-orm'
import type { PgColumn } from 'drizzle-orm/pg-core'
import {
  bigint,
  boolean,
  customType,
  doublePrecision,
  jsonb,
  pgTable,
  text,
  timestamp,
  uuid,
} from 'drizzle-orm/pg-core'
import { Redis } from 'ioredis'
import { describe, expect, inject, it } from 'vitest'
import { Cache, redisDriver } from '../../src/cache/index.js'
import { pageCodec, rowCodec } from '../../src/repositories/row-codec.js'
import { backends, backendTitle } from '../helpers/backends.js'

const bytea = customType<{ data: Buffer }>({ dataType: () => 'bytea' })

const readings = pgTable('test_readings', {
  id: uuid('id').primaryKey().defaultRandom(),
  label: text('label').notNull(),
  total: bigint('total', { mode: 'bigint' }).notNull(),
  value: doublePrecision('value'),
  ok: boolean('ok').notNull(),
  tags: text('tags').array().notNull(),
  payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
  takenAt: timestamp('taken_at', { withTimezone: true }).notNull(),
  seenAt: timestamp('seen_at', { withTimezone: true }),
})
const columns = getTableColumns(readings) as Record<string, PgColumn>

const sample = () => ({
  id: '01900000-0000-7000-8000-000000000001',
  label: 'quote " backslash \\ emoji 🎉 lone \ud800',
  total: 2n ** 70n,
  value: Number.NaN,
  ok: true,
  tags: ['a', 'b'],
  payload: { nested: { list: [1, 'two', null] }, n: 1.5 },
  takenAt: new Date('2026-01-02T03:04:05.678Z'),
  seenAt: null,
})

describe('the row codec', () => {
  it('round-trips a row with its types: Date, bigint, NaN and Infinity, arrays, jsonb, null', () => {
    const codec = rowCodec('test_readings', columns)!
    for (const value of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0.1]) {
      const row = { ...sample(), value }
      const back = codec.decode(codec.encode(row))!
      expect(back).toEqual(row)
      expect(back.takenAt).toBeInstanceOf(Date)
      expect(typeof back.total).toBe('bigint')
    }
    expect(codec.decode(codec.encode(null))).toBeNull()
    expect(() => codec.decode('[1,2]')).toThrow()
  })

  it('names its layout, so other columns mean another codec', () => {
    const one = rowCodec('test_readings', columns)!
    const { seenAt: _, ...fewer } = columns
    const other = rowCodec('test_readings', fewer)!
    expect(other.id).not.toBe(one.id)
    expect(rowCodec('test_readings', columns)!.id).toBe(one.id)
  })

  it('is not used for tables with custom column types (they keep the V8 format)', () => {
    const blobs = pgTable('test_blobs', { id: uuid('id').primaryKey(), data: bytea('data') })
    expect(rowCodec('test_blobs', getTableColumns(blobs) as Record<string, PgColumn>)).toBe(
      undefined,
    )
  })

  it('encodes pages of rows', () => {
    const codec = pageCodec(rowCodec('test_readings', columns)!)
    const page = { items: [sample(), { ...sample(), id: 'x', value: 1 }], nextCursor: 'abc' }
    expect(codec.decode(codec.encode(page))).toEqual(page)
    expect(codec.decode(codec.encode({ items: [], nextCursor: null }))).toEqual({
      items: [],
      nextCursor: null,
    })
  })
})

describe('values written with a codec', () => {
  it('are a counted miss, and left in place, for a reader without that codec', async () => {
    const url = inject('redisUrl')
    const prefix = `codec:${randomBytes(4).toString('hex')}:`
    const writer = new Cache(redisDriver({ url }), { prefix })
    const reader = new Cache(redisDriver({ url }), { prefix })
    const codec = rowCodec('test_readings', columns)!
    try {
      const row = sample()
      const read = await writer.readThrough('r1', async () => row, { ttlMs: 60_000, codec })
      expect(read).toEqual(row)
      expect(await writer.get('r1')).toEqual(row)
      expect(await reader.get('r1')).toBeUndefined()
      expect(reader.stats().bypasses).toBe(1)
      expect(await writer.get('r1')).toEqual(row) // still there for the writer's deploy
      reader.registerCodec(codec)
      expect(await reader.get('r1')).toEqual(row)
    } finally {
      await writer.clear()
      await Promise.all([writer.close(), reader.close()])
    }
  })
})

const setups = [
  { backend: backends[0]!, title: `${backendTitle(backends[0]!)} + memory`, redis: false },
  { backend: backends[1]!, title: `${backendTitle(backends[1]!)} + redis`, redis: true },
]
for (const setup of setups) {
  describe(`cached rows of an application table [${setup.title}]`, () => {
    it('come back from the cache equal to the database row, with the same types', async () => {
      const prefix = `rows:${randomBytes(4).toString('hex')}:`
      const data = await setup.backend.open({
        ...(setup.redis ? { redisUrl: inject('redisUrl') } : {}),
        cache: { prefix, entities: { enabled: true, tables: { test_readings: {} } } },
      })
      await data.db.execute(sql`create table test_readings (
        id uuid primary key default gen_random_uuid(), label text not null,
        total bigint not null, value double precision, ok boolean not null,
        tags text[] not null, payload jsonb not null, taken_at timestamptz not null,
        seen_at timestamptz)`)
      const repo = data.repository(readings)
      const { id: _, ...input } = sample()
      const row = await repo.create({ ...input, total: 2n ** 62n, value: 0.25 })
      // NaN is refused as input, yet a double precision column can hold it.
      await data.db.execute(sql`update test_readings set value = 'NaN' where id = ${row.id}`)
      const created = { ...row, value: Number.NaN }
      const before = data.cache.stats()
      const miss = await repo.findById(created.id)
      const hit = await repo.findById(created.id)
      const after = data.cache.stats()
      expect(after.hits - before.hits).toBe(1)
      expect(miss).toEqual(created)
      expect(hit).toEqual(created)
      expect(hit?.takenAt).toBeInstanceOf(Date)
      expect(typeof hit?.total).toBe('bigint')
      if (setup.redis) {
        const admin = new Redis(inject('redisUrl'))
        const stored = await admin.getBuffer(`${prefix}{e:test_readings:${created.id}}`)
        admin.disconnect()
        expect(stored?.[0]).toBe(0x02) // the row codec's format, not V8's
      }
    })
  })
}
