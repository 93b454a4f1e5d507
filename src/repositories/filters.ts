import {
  and,
  type Column,
  eq,
  gt,
  gte,
  ilike,
  inArray,
  isNotNull,
  isNull,
  like,
  lt,
  lte,
  ne,
  notInArray,
  type SQL,
} from 'drizzle-orm'
import { ValidationError } from '../errors.js'

/** Comparison operators for one column in a `where` filter. */
export interface FilterOperators<V> {
  eq?: V
  ne?: V
  gt?: V
  gte?: V
  lt?: V
  lte?: V
  in?: readonly V[]
  notIn?: readonly V[]
  isNull?: boolean
  like?: string
  ilike?: string
}

/**
 * A typed filter: each key a column, each value either the value to match (`null`
 * matches NULL) or an object of {@link FilterOperators}. All conditions must hold.
 *
 * @example
 * ```ts
 * { userId, createdAt: { gte: since }, title: { ilike: '%plan%' } }
 * ```
 */
export type Where<TRow> = {
  [K in keyof TRow]?: TRow[K] | null | FilterOperators<NonNullable<TRow[K]>>
}

const OPERATORS = new Set([
  'eq',
  'ne',
  'gt',
  'gte',
  'lt',
  'lte',
  'in',
  'notIn',
  'isNull',
  'like',
  'ilike',
])

function isOperatorObject(value: unknown): value is FilterOperators<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof Date) &&
    !ArrayBuffer.isView(value) &&
    Object.getPrototypeOf(value) === Object.prototype
  )
}

/**
 * Compiles a {@link Where} filter into parameterized SQL; values never enter SQL text.
 * @internal
 */
export function compileWhere(
  columns: Record<string, Column>,
  where: Record<string, unknown> | undefined,
  context: string,
): SQL | undefined {
  if (!where) return undefined
  const conditions: SQL[] = []
  for (const [key, value] of Object.entries(where)) {
    if (value === undefined) continue
    const column = Object.hasOwn(columns, key) ? columns[key] : undefined
    if (!column)
      throw new ValidationError(context, [
        { path: `where.${key}`, message: 'is not a column of this table' },
      ])
    if (value === null) {
      conditions.push(isNull(column))
      continue
    }
    if (!isOperatorObject(value)) {
      conditions.push(eq(column, value))
      continue
    }
    for (const [op, operand] of Object.entries(value)) {
      if (!OPERATORS.has(op)) {
        throw new ValidationError(context, [
          { path: `where.${key}.${op}`, message: 'is not a filter operator' },
        ])
      }
      if (operand === undefined) continue
      conditions.push(compileOperator(column, op, operand, `where.${key}.${op}`, context))
    }
  }
  return conditions.length === 0 ? undefined : and(...conditions)
}

function compileOperator(
  column: Column,
  op: string,
  operand: unknown,
  path: string,
  context: string,
): SQL {
  const fail = (message: string): never => {
    throw new ValidationError(context, [{ path, message }])
  }
  switch (op) {
    case 'eq':
      return operand === null ? isNull(column) : eq(column, operand)
    case 'ne':
      return operand === null ? isNotNull(column) : ne(column, operand)
    case 'gt':
      return gt(column, operand)
    case 'gte':
      return gte(column, operand)
    case 'lt':
      return lt(column, operand)
    case 'lte':
      return lte(column, operand)
    case 'in':
    case 'notIn': {
      if (!Array.isArray(operand)) return fail('must be an array')
      if (operand.length > 10_000) return fail('must have at most 10000 values')
      return op === 'in' ? inArray(column, operand) : notInArray(column, operand)
    }
    case 'isNull':
      if (typeof operand !== 'boolean') return fail('must be true or false')
      return operand ? isNull(column) : isNotNull(column)
    default: {
      if (typeof operand !== 'string') return fail('must be a string pattern')
      return op === 'like' ? like(column, operand) : ilike(column, operand)
    }
  }
}
