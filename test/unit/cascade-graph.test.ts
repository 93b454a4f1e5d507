import type { SQL } from 'drizzle-orm'
import { getTableName } from 'drizzle-orm'
import { PgDialect, type PgTable, pgTable, text, uuid } from 'drizzle-orm/pg-core'
import { describe, expect, it } from 'vitest'
import type { Executor } from '../../src/db/connection.js'
import { entityKey } from '../../src/repositories/cache-keys.js'
import { CascadeGraph } from '../../src/repositories/cascade-graph.js'

const people = pgTable('people', { id: uuid('id').primaryKey() })
const notes = pgTable('notes', {
  id: uuid('id').primaryKey(),
  personId: uuid('person_id').references(() => people.id, { onDelete: 'cascade' }),
})
const tags = pgTable('tags', {
  id: uuid('id').primaryKey(),
  noteId: uuid('note_id').references(() => notes.id, { onDelete: 'cascade' }),
})
const comments = pgTable('comments', {
  id: uuid('id').primaryKey(),
  personId: uuid('person_id').references(() => people.id, { onDelete: 'set null' }),
})
const audit = pgTable('audit', {
  id: uuid('id').primaryKey(),
  personId: uuid('person_id').references(() => people.id, { onDelete: 'no action' }),
  body: text('body'),
})
const tables = [people, notes, tags, comments, audit]

/** Rows by table, each a map of column name -> value; enough for `select key where fk in ids`. */
type Rows = Record<string, Record<string, string>[]>

/** A read-only executor over in-memory rows that records the tables it was asked about. */
function memoryExecutor(rows: Rows, asked: string[]): Executor {
  const dialect = new PgDialect()
  return {
    select: () => ({
      from: (table: PgTable) => ({
        where: async (condition: SQL) => {
          const name = getTableName(table)
          asked.push(name)
          const query = dialect.sqlToQuery(condition)
          const column = /"([a-z_]+)" in \(/.exec(query.sql)?.[1]
          return (rows[name] ?? [])
            .filter((row) => column !== undefined && query.params.includes(row[column]))
            .map((row) => ({ key: row.id }))
        },
      }),
    }),
  } as unknown as Executor
}

const rows: Rows = {
  notes: [
    { id: 'n1', person_id: 'p1' },
    { id: 'n2', person_id: 'p1' },
    { id: 'n3', person_id: 'p2' },
  ],
  tags: [
    { id: 't1', note_id: 'n1' },
    { id: 't2', note_id: 'n3' },
  ],
  comments: [{ id: 'c1', person_id: 'p1' }],
  audit: [{ id: 'a1', person_id: 'p1' }],
}

describe('the cascade graph (pure, on an in-memory executor)', () => {
  it('finds the cached rows a delete removes by cascade, through two levels, and those it sets null', async () => {
    const graph = new CascadeGraph(tables, new Set(['notes', 'tags', 'comments']))
    const asked: string[] = []
    const keys = await graph.keysOnDelete(memoryExecutor(rows, asked), 'people', ['p1'])
    expect(keys.sort()).toEqual(
      [
        entityKey('notes', 'n1'),
        entityKey('notes', 'n2'),
        entityKey('tags', 't1'),
        entityKey('comments', 'c1'),
      ].sort(),
    )
    // A foreign key without an ON DELETE action changes nothing and is never read.
    expect(asked).not.toContain('audit')
  })

  it('follows a cascade through an uncached table to a cached one', async () => {
    const graph = new CascadeGraph(tables, new Set(['tags']))
    const asked: string[] = []
    const keys = await graph.keysOnDelete(memoryExecutor(rows, asked), 'people', ['p1'])
    expect(keys).toEqual([entityKey('tags', 't1')])
    expect(asked).toEqual(['notes', 'tags'])
  })

  it('costs nothing when no cached table is reachable', async () => {
    const graph = new CascadeGraph(tables, new Set())
    const asked: string[] = []
    expect(await graph.keysOnDelete(memoryExecutor(rows, asked), 'people', ['p1'])).toEqual([])
    expect(
      await new CascadeGraph(tables, new Set(['notes'])).keysOnDelete(
        memoryExecutor(rows, asked),
        'tags',
        ['t1'],
      ),
    ).toEqual([])
    expect(asked).toEqual([])
  })
})
