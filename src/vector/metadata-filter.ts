import { type SQL, sql } from 'drizzle-orm'
import type { AnyPgColumn } from 'drizzle-orm/pg-core'
import { z } from 'zod'
import type { JsonValue } from '../schema/json-value.js'

export type { JsonValue }

/**
 * Where a value sits in the metadata: a key, or the keys of a nested path
 * (`['author', 'name']`). Keys are always sent as parameters, never as SQL text.
 */
export type MetadataPath = string | readonly string[]

/**
 * A condition on the chunks' `metadata` (jsonb), compiled to parameterized SQL.
 *
 * @example
 * ```ts
 * const filter: MetadataFilter = {
 *   and: [
 *     { key: 'source', in: ['email', 'chat'] },
 *     { key: ['page'], gte: 3 },
 *     { not: { key: 'archived', eq: true } },
 *     { key: 'lang', exists: true },
 *   ],
 * }
 * ```
 */
export type MetadataFilter =
  | { readonly and: readonly MetadataFilter[] }
  | { readonly or: readonly MetadataFilter[] }
  | { readonly not: MetadataFilter }
  /** The value at `key` equals `eq` (JSON equality: type and value). */
  | { readonly key: MetadataPath; readonly eq: JsonValue }
  /** The value at `key` equals one of `in`. */
  | { readonly key: MetadataPath; readonly in: readonly JsonValue[] }
  /** The value at `key` is a number (or string) within the bounds; other types never match. */
  | {
      readonly key: MetadataPath
      readonly gt?: number | string
      readonly gte?: number | string
      readonly lt?: number | string
      readonly lte?: number | string
    }
  /** The key is present (`true`) or absent (`false`); a JSON null counts as present. */
  | { readonly key: MetadataPath; readonly exists: boolean }

const MAX_CONDITIONS = 100
const MAX_DEPTH = 8

const jsonValue: z.ZodType<JsonValue> = z.lazy(() =>
  z.union([
    z.string().max(10_000),
    z.number().refine(Number.isFinite, 'must be a finite number'),
    z.boolean(),
    z.null(),
    z.array(jsonValue).max(1000),
    z.record(z.string(), jsonValue),
  ]),
)
const path = z.union([
  z.string().min(1).max(256),
  z.array(z.string().min(1).max(256)).min(1).max(16),
])
const bound = z.union([
  z.number().refine(Number.isFinite, 'must be a finite number'),
  z.string().max(10_000),
])

/**
 * Counts a filter's conditions and depth without validating it, stopping at the first
 * excess, so a hostile filter of 100,000 conditions is refused before the (much slower)
 * shape check walks it.
 */
function filterSizeProblem(filter: unknown): string | undefined {
  let conditions = 0
  const stack: { node: unknown; depth: number }[] = [{ node: filter, depth: 0 }]
  while (stack.length > 0) {
    const { node, depth } = stack.pop()!
    if (typeof node !== 'object' || node === null) continue
    if (depth > MAX_DEPTH) return `filters nest at most ${MAX_DEPTH} levels deep`
    if (++conditions > MAX_CONDITIONS) return `filters have at most ${MAX_CONDITIONS} conditions`
    const record = node as Record<string, unknown>
    for (const key of ['and', 'or'] as const) {
      const children = Object.hasOwn(record, key) ? record[key] : undefined
      if (!Array.isArray(children)) continue
      if (children.length > MAX_CONDITIONS)
        return `filters have at most ${MAX_CONDITIONS} conditions`
      for (const child of children) stack.push({ node: child, depth: depth + 1 })
    }
    if (Object.hasOwn(record, 'not')) stack.push({ node: record.not, depth: depth + 1 })
  }
  return undefined
}

const filterSize = z.unknown().superRefine((value, ctx) => {
  const problem = filterSizeProblem(value)
  if (problem) ctx.addIssue({ code: 'custom', message: problem })
})

/** Validates a filter's size (at most 100 conditions, 8 levels) and then its shape. */
export const metadataFilterSchema: z.ZodType<MetadataFilter> = z.lazy(() =>
  filterSize.pipe(metadataFilterShape),
) as z.ZodType<MetadataFilter>

const metadataFilterShape: z.ZodType<MetadataFilter> = z.lazy(() =>
  z.union([
    z.object({ and: z.array(metadataFilterShape).min(1) }).strict(),
    z.object({ or: z.array(metadataFilterShape).min(1) }).strict(),
    z.object({ not: metadataFilterShape }).strict(),
    z.object({ key: path, eq: jsonValue }).strict(),
    z.object({ key: path, in: z.array(jsonValue).min(1).max(1000) }).strict(),
    z.object({ key: path, exists: z.boolean() }).strict(),
    z
      .object({
        key: path,
        gt: bound.optional(),
        gte: bound.optional(),
        lt: bound.optional(),
        lte: bound.optional(),
      })
      .strict()
      .refine(
        (r) =>
          r.gt !== undefined || r.gte !== undefined || r.lt !== undefined || r.lte !== undefined,
        'a range needs gt, gte, lt or lte',
      ),
  ]),
) as z.ZodType<MetadataFilter>

const RANGE_OPERATORS = {
  gt: sql.raw('>'),
  gte: sql.raw('>='),
  lt: sql.raw('<'),
  lte: sql.raw('<='),
}

/**
 * Compiles a validated filter against a jsonb column. Every key and value becomes a bound
 * parameter (`#>` with a `text[]` path, values as `jsonb`), so nothing a caller passes is
 * ever SQL text. Throws a plain Error past 100 conditions or 8 levels of nesting.
 * @internal
 */
export function compileMetadataFilter(column: AnyPgColumn, filter: MetadataFilter): SQL {
  let conditions = 0
  const compile = (node: MetadataFilter, depth: number): SQL => {
    if (depth > MAX_DEPTH) throw new Error(`filters nest at most ${MAX_DEPTH} levels deep`)
    if (++conditions > MAX_CONDITIONS)
      throw new Error(`filters have at most ${MAX_CONDITIONS} conditions`)
    if ('and' in node)
      return sql`(${sql.join(
        node.and.map((n) => compile(n, depth + 1)),
        sql` and `,
      )})`
    if ('or' in node)
      return sql`(${sql.join(
        node.or.map((n) => compile(n, depth + 1)),
        sql` or `,
      )})`
    if ('not' in node) return sql`(not coalesce(${compile(node.not, depth + 1)}, false))`
    const segments = typeof node.key === 'string' ? [node.key] : [...node.key]
    const value = sql`(${column} #> ${sql.param(segments)}::text[])`
    if ('eq' in node) return sql`coalesce(${value} = ${JSON.stringify(node.eq)}::jsonb, false)`
    if ('in' in node) {
      return sql`coalesce(${value} = any(select jsonb_array_elements(${JSON.stringify(node.in)}::jsonb)), false)`
    }
    if ('exists' in node) return node.exists ? sql`(${value} is not null)` : sql`(${value} is null)`
    const parts: SQL[] = []
    for (const op of ['gt', 'gte', 'lt', 'lte'] as const) {
      const limit = node[op]
      if (limit === undefined) continue
      const json = JSON.stringify(limit)
      // jsonb compares numbers numerically and strings as text, and never errors; the type
      // check keeps a string from matching a numeric bound (jsonb orders types).
      parts.push(
        sql`(jsonb_typeof(${value}) = jsonb_typeof(${json}::jsonb) and ${value} ${RANGE_OPERATORS[op]} ${json}::jsonb)`,
      )
    }
    return sql`coalesce(${sql.join(parts, sql` and `)}, false)`
  }
  return compile(filter, 0)
}
