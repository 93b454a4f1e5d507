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
import { textProblem } from '../schema/json-value.js'
import { clip } from '../util/clip.js'

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

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

const DESCRIBED: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  boolean: 'true or false',
  bigint: 'a bigint',
  date: 'a Date',
  buffer: 'a Buffer',
  array: 'an array',
}

/**
 * Why `value` cannot be compared with `column`, or undefined when it can: the value must
 * have the JavaScript type the column maps to (a Date for a timestamp, a string for text),
 * since the query builder would otherwise fail inside its own code.
 */
function valueProblem(column: Column, value: unknown): string | undefined {
  if (typeof value === 'string') {
    const problem = textProblem(value)
    if (problem) return problem
  }
  const expected = column.dataType as string
  const actual =
    value instanceof Date
      ? 'date'
      : Buffer.isBuffer(value)
        ? 'buffer'
        : Array.isArray(value)
          ? 'array'
          : typeof value
  if (expected === 'json' || expected === 'custom') {
    return actual === 'function' || actual === 'symbol' || actual === 'undefined'
      ? 'must be a JSON value'
      : undefined
  }
  if (expected === 'number' && actual === 'number') {
    return Number.isFinite(value) ? undefined : 'must be a finite number'
  }
  if (expected === 'date' && actual === 'date') {
    return Number.isNaN((value as Date).getTime()) ? 'must be a valid Date' : undefined
  }
  if (actual === expected) return undefined
  // Numeric columns read as strings (exact decimals) and bigint columns compare with
  // numbers as well: Postgres converts both without loss.
  if (actual === 'number' && Number.isFinite(value)) {
    if (expected === 'bigint' && Number.isSafeInteger(value)) return undefined
    if (expected === 'string' && column.columnType === 'PgNumeric') return undefined
  }
  if (actual === 'bigint' && expected === 'number') return undefined
  return `must be ${DESCRIBED[expected] ?? `a value of the column's type (${expected})`}`
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
  if (where === undefined) return undefined
  if (!isPlainObject(where))
    throw new ValidationError(context, [
      { path: 'where', message: 'must be an object of column conditions' },
    ])
  const conditions: SQL[] = []
  for (const [key, value] of Object.entries(where)) {
    if (value === undefined) continue
    const column = Object.hasOwn(columns, key) ? columns[key] : undefined
    if (!column)
      throw new ValidationError(context, [
        { path: `where.${clip(key)}`, message: 'is not a column of this table' },
      ])
    if (value === null) {
      conditions.push(isNull(column))
      continue
    }
    if (!isPlainObject(value)) {
      const problem = valueProblem(column, value)
      if (problem) throw new ValidationError(context, [{ path: `where.${key}`, message: problem }])
      conditions.push(eq(column, value))
      continue
    }
    for (const [op, operand] of Object.entries(value)) {
      if (!OPERATORS.has(op)) {
        throw new ValidationError(context, [
          { path: `where.${key}.${clip(op)}`, message: 'is not a filter operator' },
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
  if (op === 'like' || op === 'ilike') {
    if (column.dataType !== 'string') return fail('works on text columns only')
    if (typeof operand !== 'string') return fail('must be a string pattern')
    const problem = textProblem(operand)
    if (problem) return fail(problem)
  } else if (op !== 'isNull' && operand !== null) {
    const values =
      op === 'in' || op === 'notIn'
        ? Array.isArray(operand) && operand.length <= 10_000
          ? operand
          : []
        : [operand]
    for (const [index, value] of values.entries()) {
      const problem = valueProblem(column, value)
      if (problem) fail(op === 'in' || op === 'notIn' ? `[${index}] ${problem}` : problem)
    }
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
