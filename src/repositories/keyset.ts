import { createHash } from 'node:crypto'
import { type Column, type SQL, sql } from 'drizzle-orm'
import { ValidationError } from '../errors.js'

/** Sort direction of one column. */
export type SortDirection = 'asc' | 'desc'

/** One column of a keyset ordering. @internal */
export interface KeysetColumn {
  readonly key: string
  readonly column: Column
  readonly direction: SortDirection
}

interface CursorPayload {
  /** Fingerprint of the ordering the cursor was made for. */
  o: string
  /** The last row's values of the order columns, as Postgres text (exact), or null. */
  v: (string | null)[]
}

/** @internal */
export function orderingFingerprint(ordering: readonly KeysetColumn[]): string {
  const spec = ordering.map((c) => `${c.key}:${c.direction}`).join(',')
  return createHash('sha256').update(spec).digest('base64url').slice(0, 12)
}

/**
 * Makes an opaque cursor from a row's order-column values as Postgres printed them.
 * Text keeps full precision (timestamps to the microsecond, numerics, floats).
 * @internal
 */
export function encodeCursor(ordering: readonly KeysetColumn[], values: (string | null)[]): string {
  const payload: CursorPayload = { o: orderingFingerprint(ordering), v: values }
  return Buffer.from(JSON.stringify(payload)).toString('base64url')
}

/** @internal */
export function decodeCursor(
  ordering: readonly KeysetColumn[],
  cursor: string,
  context: string,
): (string | null)[] {
  const invalid = (message: string): never => {
    throw new ValidationError(context, [{ path: 'cursor', message }])
  }
  let payload: CursorPayload
  try {
    payload = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as CursorPayload
  } catch {
    return invalid('is not a cursor returned by this method')
  }
  if (
    typeof payload !== 'object' ||
    payload === null ||
    !Array.isArray(payload.v) ||
    payload.v.length !== ordering.length ||
    !payload.v.every((v) => v === null || typeof v === 'string')
  ) {
    return invalid('is not a cursor returned by this method')
  }
  if (payload.o !== orderingFingerprint(ordering)) return invalid('was made for another ordering')
  return payload.v
}

/** `column::text`, selected alongside each row to build the next cursor. @internal */
export function cursorValueSql(column: Column): SQL<string | null> {
  return sql<string | null>`${column}::text`
}

function typedParam(column: Column, value: string): SQL {
  return sql`cast(${value} as ${sql.raw(column.getSQLType())})`
}

/**
 * The condition "strictly after the cursor row" in the given ordering. Postgres sorts
 * NULLs last ascending and first descending; the condition follows that. When every
 * column is NOT NULL and all go one way it is a row comparison, which an index on the
 * same columns serves as one range scan.
 * @internal
 */
export function afterCursor(
  ordering: readonly KeysetColumn[],
  values: readonly (string | null)[],
): SQL {
  const first = ordering[0]!
  const uniform = ordering.every((c) => c.direction === first.direction && c.column.notNull)
  if (uniform && values.every((v) => v !== null)) {
    const left = sql.join(
      ordering.map((c) => sql`${c.column}`),
      sql`, `,
    )
    const right = sql.join(
      ordering.map((c, i) => typedParam(c.column, values[i]!)),
      sql`, `,
    )
    return first.direction === 'asc' ? sql`(${left}) > (${right})` : sql`(${left}) < (${right})`
  }
  const branches: SQL[] = []
  for (let i = 0; i < ordering.length; i++) {
    const parts: SQL[] = []
    for (let j = 0; j < i; j++) parts.push(equalTo(ordering[j]!, values[j] ?? null))
    const strict = strictlyAfter(ordering[i]!, values[i] ?? null)
    if (!strict) continue
    parts.push(strict)
    branches.push(sql`(${sql.join(parts, sql` and `)})`)
  }
  return branches.length === 0 ? sql`false` : sql`(${sql.join(branches, sql` or `)})`
}

function equalTo(c: KeysetColumn, value: string | null): SQL {
  return value === null
    ? sql`${c.column} is null`
    : sql`${c.column} = ${typedParam(c.column, value)}`
}

function strictlyAfter(c: KeysetColumn, value: string | null): SQL | undefined {
  if (c.direction === 'asc') {
    // ascending: NULLs come last
    if (value === null) return undefined
    return sql`(${c.column} > ${typedParam(c.column, value)} or ${c.column} is null)`
  }
  // descending: NULLs come first
  if (value === null) return sql`${c.column} is not null`
  return sql`${c.column} < ${typedParam(c.column, value)}`
}
