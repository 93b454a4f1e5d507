import { getTableColumns, getTableName, is } from 'drizzle-orm'
import { type PgColumn, PgTable } from 'drizzle-orm/pg-core'
import { createInsertSchema, createUpdateSchema } from 'drizzle-zod'
import type { z } from 'zod'
import { ConfigError, ValidationError } from '../errors.js'

/** A row of table `T` as read. */
export type RowOf<T extends PgTable> = T['$inferSelect']
/** What inserting into table `T` accepts. */
export type InsertOf<T extends PgTable> = T['$inferInsert']
/** The property name of `T`'s primary key column. */
export type PrimaryKeyOf<T extends PgTable> = {
  [K in keyof T['_']['columns']]: T['_']['columns'][K]['_']['isPrimaryKey'] extends true ? K : never
}[keyof T['_']['columns']] &
  keyof RowOf<T>
/** The type of `T`'s primary key. */
export type IdOf<T extends PgTable> = RowOf<T>[PrimaryKeyOf<T>]

/** Zod schemas a repository validates its input with. */
export interface TableSchemas {
  /** Validates what `create`, `createMany` and `upsert` accept. */
  readonly insert?: z.ZodType
  /** Validates what `update` accepts. */
  readonly update?: z.ZodType
}

/**
 * A table prepared for a repository: its columns, primary key and input schemas.
 * @internal
 */
export interface TableDefinition<T extends PgTable = PgTable> {
  readonly table: T
  readonly name: string
  readonly columns: Record<string, PgColumn>
  readonly primaryKey: { readonly key: string; readonly column: PgColumn }
  readonly insertSchema: z.ZodType
  readonly updateSchema: z.ZodType
}

/**
 * Describes any Drizzle table with a single-column primary key for a repository. Input
 * schemas default to drizzle-zod's, rejecting unknown fields.
 * @internal
 */
export function defineTable<T extends PgTable>(
  table: T,
  schemas: TableSchemas = {},
): TableDefinition<T> {
  if (!is(table, PgTable))
    throw new ValidationError('repository', [
      { path: 'table', message: 'must be a Drizzle table made with pgTable()' },
    ])
  const columns = getTableColumns(table) as Record<string, PgColumn>
  const name = getTableName(table)
  const keys = Object.entries(columns).filter(([, column]) => column.primary)
  if (keys.length !== 1) {
    throw new ConfigError(
      `Table ${name} needs exactly one primary key column for a repository (found ${keys.length})`,
    )
  }
  const [key, column] = keys[0]!
  return {
    table,
    name,
    columns,
    primaryKey: { key, column },
    insertSchema: schemas.insert ?? createInsertSchema(table).strict(),
    updateSchema: schemas.update ?? createUpdateSchema(table).strict(),
  }
}
