import { asc, count, desc, getTableColumns, type SQL, sql } from 'drizzle-orm'
import type { PgTable } from 'drizzle-orm/pg-core'
import type { Executor } from '../db/connection.js'
import { ValidationError } from '../errors.js'
import { clip } from '../util/clip.js'
import { compileWhere, type Where } from './filters.js'
import {
  afterCursor,
  cursorValueSql,
  decodeCursor,
  encodeCursor,
  type KeysetColumn,
} from './keyset.js'
import {
  DEFAULT_PAGE_SIZE,
  type FindManyOptions,
  type FindPageOptions,
  MAX_PAGE_SIZE,
  type OrderBy,
  type Page,
} from './repository-types.js'
import type { TableDefinition } from './table-definition.js'

const CURSOR_FIELD = '__stratum_cursor_'

type AnyDefinition = TableDefinition<PgTable>
type AnyRow = Record<string, unknown>

/** The list reads of a repository (many rows, a keyset page, a count, existence), as SQL. */
export function selectMany(
  executor: Executor,
  definition: AnyDefinition,
  options: FindManyOptions<AnyRow>,
  operation: string,
): Promise<AnyRow[]> {
  const ordering = listOrdering(definition, options.orderBy)
  return executor
    .select()
    .from(definition.table)
    .where(listWhere(definition, options.where, operation))
    .orderBy(...orderByClauses(ordering))
    .limit(listLimit(definition, options.limit, operation)) as Promise<AnyRow[]>
}

/**
 * One page by keyset pagination: the rows after the cursor in the ordering (primary key
 * last), one more than the limit to learn whether another page exists. `condition` is SQL
 * the caller adds to `where` (a repository's own, never a user's).
 */
export async function selectPage(
  executor: Executor,
  definition: AnyDefinition,
  options: FindPageOptions<AnyRow>,
  operation: string,
  condition?: SQL,
): Promise<Page<AnyRow>> {
  const context = `${definition.name}.${operation}`
  const ordering = listOrdering(definition, options.orderBy)
  const limit = listLimit(definition, options.limit, operation)
  const conditions: SQL[] = condition ? [condition] : []
  const where = listWhere(definition, options.where, operation)
  if (where) conditions.push(where)
  if (options.cursor)
    conditions.push(afterCursor(ordering, decodeCursor(ordering, options.cursor, context)))
  const cursorFields = Object.fromEntries(
    ordering.map((c, i) => [`${CURSOR_FIELD}${i}`, cursorValueSql(c.column)]),
  )
  const rows = (await executor
    .select({ ...getTableColumns(definition.table), ...cursorFields })
    .from(definition.table)
    .where(conditions.length ? sql.join(conditions, sql` and `) : undefined)
    .orderBy(...orderByClauses(ordering))
    .limit(limit + 1)) as AnyRow[]
  const more = rows.length > limit
  const pageRows = more ? rows.slice(0, limit) : rows
  const last = pageRows.at(-1)
  const nextCursor =
    more && last
      ? encodeCursor(
          ordering,
          ordering.map((_, i) => last[`${CURSOR_FIELD}${i}`] as string | null),
        )
      : null
  for (const row of pageRows)
    for (let i = 0; i < ordering.length; i++) delete row[`${CURSOR_FIELD}${i}`]
  return { items: pageRows, nextCursor }
}

/** How many rows match `where`. */
export async function selectCount(
  executor: Executor,
  definition: AnyDefinition,
  where: Where<AnyRow> | undefined,
): Promise<number> {
  const rows = await executor
    .select({ n: count() })
    .from(definition.table)
    .where(listWhere(definition, where, 'count'))
  return Number(rows[0]?.n ?? 0)
}

/** Whether any row matches `where`. */
export async function selectExists(
  executor: Executor,
  definition: AnyDefinition,
  where: Where<AnyRow> | undefined,
): Promise<boolean> {
  const rows = await executor
    .select({ one: sql`1` })
    .from(definition.table)
    .where(listWhere(definition, where, 'exists'))
    .limit(1)
  return rows.length > 0
}

function orderByClauses(ordering: KeysetColumn[]): SQL[] {
  return ordering.map((c) => (c.direction === 'asc' ? asc(c.column) : desc(c.column)))
}

function listWhere(
  definition: AnyDefinition,
  where: Where<AnyRow> | undefined,
  operation: string,
): SQL | undefined {
  return compileWhere(definition.columns, where, `${definition.name}.${operation}`)
}

function listLimit(
  definition: AnyDefinition,
  limit: number | undefined,
  operation: string,
): number {
  if (limit === undefined) return DEFAULT_PAGE_SIZE
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
    throw new ValidationError(`${definition.name}.${operation}`, [
      { path: 'limit', message: `must be a whole number from 1 to ${MAX_PAGE_SIZE}` },
    ])
  }
  return limit
}

/** The ordering with the primary key appended as the tie-breaker. */
function listOrdering(
  definition: AnyDefinition,
  orderBy: OrderBy<AnyRow> | undefined,
): KeysetColumn[] {
  const context = `${definition.name}.order`
  if (
    orderBy !== undefined &&
    (typeof orderBy !== 'object' || orderBy === null || Array.isArray(orderBy))
  )
    throw new ValidationError(context, [
      {
        path: 'orderBy',
        message: "must be an object of columns and directions, e.g. { createdAt: 'desc' }",
      },
    ])
  const ordering: KeysetColumn[] = []
  for (const [key, direction] of Object.entries(orderBy ?? {})) {
    if (direction === undefined) continue
    const column = Object.hasOwn(definition.columns, key) ? definition.columns[key] : undefined
    if (!column)
      throw new ValidationError(context, [
        { path: `orderBy.${clip(key)}`, message: 'is not a column of this table' },
      ])
    if (direction !== 'asc' && direction !== 'desc') {
      throw new ValidationError(context, [
        { path: `orderBy.${key}`, message: "must be 'asc' or 'desc'" },
      ])
    }
    ordering.push({ key, column, direction })
  }
  const pkKey = definition.primaryKey.key as string
  if (!ordering.some((c) => c.key === pkKey)) {
    ordering.push({
      key: pkKey,
      column: definition.primaryKey.column,
      direction: ordering.at(-1)?.direction ?? 'asc',
    })
  }
  return ordering
}
