import { createHash } from 'node:crypto'
import type { PgColumn } from 'drizzle-orm/pg-core'
import type { ValueCodec } from '../cache/value-codec.js'

/** How one column's JavaScript value becomes JSON and back. */
interface ColumnCodec {
  encode(value: unknown): unknown
  decode(value: unknown): unknown
}

const same: ColumnCodec = { encode: (v) => v, decode: (v) => v }

// JSON has no NaN or Infinity (real and double precision columns can hold them).
const number: ColumnCodec = {
  encode: (v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v),
  decode: (v) => (typeof v === 'string' ? Number(v) : v),
}

const date: ColumnCodec = {
  encode: (v) => (v as Date).getTime(),
  decode: (v) => new Date(v as number),
}

const bigint: ColumnCodec = {
  encode: (v) => (v as bigint).toString(),
  decode: (v) => BigInt(v as string),
}

const buffer: ColumnCodec = {
  encode: (v) => Buffer.from(v as Uint8Array).toString('base64'),
  decode: (v) => Buffer.from(v as string, 'base64'),
}

function columnCodec(column: PgColumn): ColumnCodec | undefined {
  switch (column.dataType) {
    case 'string':
    case 'boolean':
    case 'json':
      return same
    case 'number':
      return number
    case 'date':
      return date
    case 'bigint':
      return bigint
    case 'buffer':
      return buffer
    case 'array': {
      const base = (column as PgColumn & { baseColumn?: PgColumn }).baseColumn
      return base && ['string', 'boolean', 'json'].includes(base.dataType) ? same : undefined
    }
    default:
      // Custom types (and anything new) keep the default serializer.
      return undefined
  }
}

/** A row codec, with its per-row halves for codecs of values that hold rows. @internal */
export interface RowCodec extends ValueCodec<Record<string, unknown> | null> {
  encodeRow(row: Record<string, unknown>): unknown[]
  decodeRow(values: unknown): Record<string, unknown>
}

/**
 * The cache encoding of a table's rows: a JSON array of the column values in column order,
 * with Dates as epoch milliseconds, bigints as strings and bytes as base64. Reading it
 * back is one `JSON.parse` plus a pass over the columns, several times faster than V8's
 * deserializer for a typical row. The id carries a hash of the columns' names and SQL
 * types, so a deploy with other columns never misreads a row another one cached. Undefined
 * when a column's type has no such encoding (custom types): those rows keep the default.
 * @internal
 */
export function rowCodec(table: string, columns: Record<string, PgColumn>): RowCodec | undefined {
  const entries = Object.entries(columns)
  const codecs = entries.map(([, column]) => columnCodec(column))
  if (codecs.some((c) => c === undefined)) return undefined
  const keys = entries.map(([key]) => key)
  const columnCodecs = codecs as ColumnCodec[]
  const layout = entries.map(([key, column]) => `${key}:${column.getSQLType()}`).join(',')
  const id = `row:${table}:${createHash('sha256').update(layout).digest('base64url').slice(0, 16)}`

  const encodeRow = (row: Record<string, unknown>): unknown[] =>
    keys.map((key, i) => {
      const value = row[key]
      return value === null || value === undefined ? null : columnCodecs[i]!.encode(value)
    })
  const decodeRow = (values: unknown): Record<string, unknown> => {
    if (!Array.isArray(values) || values.length !== keys.length) {
      throw new Error(`not a ${table} row`)
    }
    const row: Record<string, unknown> = {}
    for (let i = 0; i < keys.length; i++) {
      const value = values[i]
      row[keys[i]!] = value === null ? null : columnCodecs[i]!.decode(value)
    }
    return row
  }
  return {
    id,
    encodeRow,
    decodeRow,
    encode: (row) => JSON.stringify(row === null ? null : encodeRow(row)),
    decode: (text) => {
      const values: unknown = JSON.parse(text)
      return values === null ? null : decodeRow(values)
    },
  }
}

/**
 * The cache encoding of a page of rows (`{ items, nextCursor }`), built on
 * {@link rowCodec}'s.
 * @internal
 */
export function pageCodec(
  rows: RowCodec,
): ValueCodec<{ items: Record<string, unknown>[]; nextCursor: string | null }> {
  return {
    id: `page:${rows.id}`,
    encode: (page) =>
      JSON.stringify({ cursor: page.nextCursor, items: page.items.map(rows.encodeRow) }),
    decode: (text) => {
      const parsed = JSON.parse(text) as { cursor?: unknown; items?: unknown }
      if (
        !Array.isArray(parsed.items) ||
        !(typeof parsed.cursor === 'string' || parsed.cursor === null)
      ) {
        throw new Error('not a page')
      }
      return { items: parsed.items.map(rows.decodeRow), nextCursor: parsed.cursor }
    },
  }
}
