import type { PgColumn } from 'drizzle-orm/pg-core'
import { textProblem } from '../schema/json-value.js'
import { isUuid } from '../util/is-uuid.js'

// Any version and variant: Postgres' uuid type stores all 128 bits as given.
const INTEGER_TYPES = new Set([
  'PgInteger',
  'PgSerial',
  'PgSmallInt',
  'PgSmallSerial',
  'PgBigInt53',
  'PgBigSerial53',
])

/** Why `id` cannot be a value of a primary key column, or undefined when it can. */
export type IdCheck = (id: unknown) => string | undefined

/**
 * The check for ids of `column`, chosen once per repository: a UUID string for uuid keys,
 * a safe integer for integer keys, a storable string for text keys. Runs before any I/O,
 * so `findById(undefined)` is a `VALIDATION` error instead of a quiet null.
 * @internal
 */
export function idCheckFor(column: PgColumn): IdCheck {
  if (column.columnType === 'PgUUID')
    return (id) => (isUuid(id) ? undefined : 'must be a UUID string')
  if (INTEGER_TYPES.has(column.columnType))
    return (id) => (Number.isSafeInteger(id) ? undefined : 'must be a safe integer')
  if (column.columnType === 'PgBigInt64')
    return (id) => (typeof id === 'bigint' ? undefined : 'must be a bigint')
  if (column.dataType === 'string')
    return (id) => (typeof id === 'string' ? textProblem(id) : 'must be a string')
  return (id) =>
    id === undefined || id === null || typeof id === 'object' || typeof id === 'function'
      ? 'must be a key value'
      : undefined
}
