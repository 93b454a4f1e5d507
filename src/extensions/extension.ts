import type { PgTable } from 'drizzle-orm/pg-core'
import type { TableCacheSetting } from '../cache/cache-options.js'
import type { TransactionRepositories } from '../data-layer/types.js'
import type { Executor } from '../db/connection.js'
import { MIGRATIONS_TABLE_PATTERN } from '../db/migrator.js'
import { ConfigError } from '../errors.js'

/**
 * What an extension's `api` is built on: the data layer's repositories (`repository(table)`
 * gives the extension's own tables the core's validation, error mapping and caching) and
 * the Drizzle handle, either of the data layer or of one `data.transaction()`.
 */
export interface ExtensionScope extends TransactionRepositories {
  /** The Drizzle database, or the transaction when `inTransaction` is true. */
  readonly db: Executor
  /** True inside `data.transaction()`: `db` and the repositories are bound to it. */
  readonly inTransaction: boolean
}

/** Where an extension's drizzle-kit migrations are and where they are recorded. */
export interface ExtensionMigrations {
  /** The drizzle-kit output folder (with `meta/_journal.json`). */
  readonly folder: string
  /**
   * The table recording them (default `stratum_migrations`, shared with the core, rows
   * told apart by set name). Either way they are tracked by (set, tag), never by date.
   */
  readonly table?: string
  /** Placeholder -> value, substituted into the SQL when it is applied. */
  readonly parameters?: Readonly<Record<string, string>>
}

/**
 * A package that adds its own tables (foreign keys to the core tables allowed), migrations
 * and accessor to the data layer: `createDataLayer({ extensions: [notes()] })` then has a
 * typed `data.ext.notes`. Build one with {@link defineExtension}.
 */
export interface DataLayerExtension<Name extends string = string, Api = unknown> {
  /** Unique, lower-case (a-z, 0-9, `_`, `-`); the key under `data.ext` and the migration set's name. */
  readonly name: Name
  /**
   * The extension's Drizzle tables. Their foreign keys tell which of their cached rows a
   * delete of a core row changes by cascade (a deleted user takes the extension's rows
   * along: their cached copies go too); `reset()` of a test data layer empties them.
   */
  readonly tables?: readonly PgTable[]
  /** Applied after the core migrations (and the extensions listed before), under the same lock. */
  readonly migrations?: ExtensionMigrations
  /**
   * How the extension's tables are cached, by table name; the application's own
   * `cache.entities.tables` entry for a table wins. Tables not listed are not cached.
   */
  readonly cache?: Readonly<Record<string, TableCacheSetting>>
  /** Builds the accessor: once for the data layer, once for each transaction scope. */
  api(scope: ExtensionScope): Api
}

/** The typed `data.ext` of a list of extensions: each accessor under its extension's name. */
export type ExtensionApis<E extends readonly DataLayerExtension[]> = {
  readonly [X in E[number] as X['name']]: ReturnType<X['api']>
}

/**
 * Declares an extension, keeping its name and accessor type for `data.ext`.
 *
 * @example
 * ```ts
 * export const notes = () =>
 *   defineExtension({
 *     name: 'notes',
 *     migrations: { folder: fileURLToPath(new URL('../drizzle', import.meta.url)), table: 'notes_migrations' },
 *     cache: { notes: { ttlMs: 60_000 } },
 *     api: (scope) => new NotesRepository(scope.repository(notesTable)),
 *   })
 * ```
 */
export function defineExtension<const Name extends string, Api>(
  extension: DataLayerExtension<Name, Api>,
): DataLayerExtension<Name, Api> {
  return extension
}

const NAME = /^[a-z][a-z0-9_-]{0,62}$/

/**
 * Checks a list of extensions against each other and the migration sets: names valid and
 * unique (and not `core` or a set's name), migrations tables valid identifiers.
 * @internal
 */
export function checkExtensions(
  extensions: readonly DataLayerExtension[],
  setNames: readonly string[],
): void {
  const seen = new Set(['core', ...setNames])
  for (const extension of extensions) {
    if (typeof extension?.api !== 'function' || typeof extension.name !== 'string')
      throw new ConfigError('extensions: each entry must come from defineExtension()')
    if (!NAME.test(extension.name))
      throw new ConfigError(
        `extensions: name ${JSON.stringify(extension.name)} must be lower-case a-z, 0-9, _ and -`,
      )
    if (seen.has(extension.name))
      throw new ConfigError(
        `extensions: the name ${extension.name} is taken (by core, a migration set or another extension)`,
      )
    seen.add(extension.name)
    const table = extension.migrations?.table
    if (table !== undefined && !MIGRATIONS_TABLE_PATTERN.test(table))
      throw new ConfigError(
        `extensions: ${extension.name}'s migrations table ${JSON.stringify(table)} must be a lower-case SQL identifier`,
      )
  }
}
