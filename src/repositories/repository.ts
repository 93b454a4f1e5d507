import { eq, sql } from 'drizzle-orm'
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core'
import type { ValueCodec } from '../cache/value-codec.js'
import type { Executor } from '../db/connection.js'
import { mapDatabaseError, sqlStateOf } from '../db/map-database-error.js'
import { StratumError, ValidationError } from '../errors.js'
import { appendAll } from '../util/append-all.js'
import { clip } from '../util/clip.js'
import { bulkBatchSize, insertStreaming } from './bulk-insert.js'
import { entityKey } from './cache-keys.js'
import type { Where } from './filters.js'
import { selectCount, selectExists, selectMany, selectPage } from './list-queries.js'
import { PreparedRowQuery } from './prepared-row-query.js'
import { type IdCheck, idCheckFor } from './primary-key.js'
import { ReadCaching } from './read-caching.js'
import type { RepositoryContext } from './repository-context.js'
import type {
  FindManyOptions,
  FindPageOptions,
  Page,
  ReadOptions,
  UpsertOptions,
} from './repository-types.js'
import { pageCodec, type RowCodec, rowCodec } from './row-codec.js'
import { runOperation, runRead } from './run-operation.js'
import type { IdOf, InsertOf, RowOf, TableDefinition } from './table-definition.js'
import { validate, validateEach } from './validate.js'

/**
 * Typed data access over one Drizzle table with a single-column primary key. Every input
 * is validated with the table's Zod schemas before it reaches SQL, and every database
 * error leaves as a {@link StratumError}.
 *
 * @example
 * ```ts
 * const notes = data.repository(notesTable)
 * const note = await notes.create({ userId, body: 'hi' })
 * const page = await notes.findPage({ where: { userId }, orderBy: { createdAt: 'desc' }, limit: 20 })
 * ```
 */
export class Repository<T extends PgTable> {
  /** @internal */
  protected readonly context: RepositoryContext
  /** @internal */
  protected readonly definition: TableDefinition<T>
  readonly #prepared = new Map<string, PreparedRowQuery<RowOf<T>>>()
  readonly #rowCodec: RowCodec | undefined
  readonly #idCheck: IdCheck
  /** The cache encoding of this table's list pages, when its columns allow one. @internal */
  protected readonly pageCodec: ValueCodec | undefined

  /** @internal */
  readonly #caching: ReadCaching

  constructor(context: RepositoryContext, definition: TableDefinition<T>) {
    this.context = context
    this.definition = definition
    this.#rowCodec = rowCodec(definition.name, definition.columns)
    this.#idCheck = idCheckFor(definition.primaryKey.column)
    this.#caching = new ReadCaching(context, definition.name)
    this.pageCodec = this.#rowCodec && (pageCodec(this.#rowCodec) as ValueCodec)
    if (this.#rowCodec) context.cache?.registerCodec(this.#rowCodec as ValueCodec)
    if (this.pageCodec) context.cache?.registerCodec(this.pageCodec)
  }

  /** The Drizzle table this repository reads and writes. */
  get table(): T {
    return this.definition.table
  }

  /**
   * Runs one repository operation: checks the layer is usable, maps database errors.
   * @internal
   */
  protected async run<R>(operation: string, fn: (executor: Executor) => Promise<R>): Promise<R> {
    return runOperation(this.context, `${this.definition.name}.${operation}`, fn)
  }

  /**
   * A `VALIDATION` error when `id` cannot be this table's primary key, else undefined.
   * @internal
   */
  protected badId(id: unknown, operation: string): ValidationError | undefined {
    const problem = this.#idCheck(id)
    return problem === undefined
      ? undefined
      : new ValidationError(`${this.definition.name}.${operation}`, [
          { path: 'id', message: problem },
        ])
  }

  /** @internal */
  protected notFound(id: unknown): StratumError {
    return new StratumError('NOT_FOUND', `${this.definition.name} ${String(id)} does not exist`, {
      details: { table: this.definition.name },
    })
  }

  /** @internal */
  protected get pk(): PgColumn {
    return this.definition.primaryKey.column
  }

  /**
   * The row with this primary key, or null. Uses a prepared statement outside transactions
   * (no LIMIT: the key matches at most one row, and a literal-free plan stays generic).
   */
  findById(id: IdOf<T>, options?: ReadOptions): Promise<RowOf<T> | null> {
    const bad = this.badId(id, 'findById')
    if (bad) return Promise.reject(bad)
    if (options !== undefined)
      return this.withConsistency(options, 'findById', () => this.findById(id))
    // Inline closures only: this is the hottest path, and a named one costs a
    // defineProperty per call under tools that keep function names (tsx, esbuild).
    return this.readThrough(
      'findById',
      this.entityKey(id),
      () => this.readOne('findById', this.#byIdQuery, id),
      this.#rowCodec as ValueCodec,
    )
  }

  /**
   * Reads through the cache when this table is cached and no transaction is open;
   * otherwise reads the database. Cache fills always read the primary.
   * @internal
   */
  protected readThrough<R>(
    operation: string,
    key: string,
    read: () => Promise<R>,
    codec?: ValueCodec,
  ): Promise<R> {
    return this.#caching.readThrough(operation, key, read, codec)
  }

  /**
   * Reads one member of a cached group (a list page) through the cache when this table is
   * cached and no transaction is open; otherwise reads the database.
   * @internal
   */
  protected readGroup<R>(
    operation: string,
    group: string,
    member: string,
    read: () => Promise<R>,
    codec?: ValueCodec,
  ): Promise<R> {
    return this.#caching.readGroup(operation, group, member, read, codec)
  }

  readonly #byIdQuery = (executor: Executor, key: unknown) =>
    executor
      .select()
      .from(this.table as PgTable)
      .where(eq(this.pk, key))

  /**
   * Runs `read` as `options.consistency` asks: on the primary for `'primary'` (when replicas
   * are configured), as it is otherwise; another value is a `VALIDATION` error.
   * @internal
   */
  protected withConsistency<R>(
    options: ReadOptions | undefined,
    operation: string,
    read: () => Promise<R>,
  ): Promise<R> {
    const consistency = options?.consistency
    if (consistency === undefined || consistency === 'replica') return read()
    if (consistency !== 'primary')
      return Promise.reject(
        new ValidationError(`${this.definition.name}.${operation}`, [
          { path: 'consistency', message: "must be 'primary' or 'replica'" },
        ]),
      )
    const reads = this.context.reads
    return reads ? reads.onPrimary(read) : read()
  }

  /**
   * Runs a read on a replica when replicas are configured and the caller's scope allows
   * it, else on the database or transaction, mapping errors.
   * @internal
   */
  protected read<R>(operation: string, fn: (executor: Executor) => Promise<R>): Promise<R> {
    return runRead(this.context, `${this.definition.name}.${operation}`, fn)
  }

  /** The cache key of the row with this primary key. @internal */
  protected entityKey(id: unknown): string {
    return entityKey(this.definition.name, id)
  }

  /** Cache keys a write of `row` makes stale. @internal */
  protected cacheKeysOf(row: RowOf<T>): string[] {
    return [this.entityKey((row as Record<string, unknown>)[this.definition.primaryKey.key])]
  }

  /**
   * Cache keys of rows that deleting row `id` removes by cascade, read inside the
   * deleting transaction before the delete. None by default.
   * @internal
   */
  /** Columns derived from the rest (a message's token counts), added to rows before inserts. */
  protected async derive(rows: Record<string, unknown>[]): Promise<Record<string, unknown>[]> {
    return rows
  }

  /** The same for a validated partial update: what else it sets. */
  protected async derivePatch(patch: Record<string, unknown>): Promise<Record<string, unknown>> {
    return patch
  }

  protected async cascadeKeys(_executor: Executor, _id: IdOf<T>): Promise<string[]> {
    return []
  }

  /** Schedules invalidation of what writing `rows` made stale (after commit). @internal */
  protected written(
    rows: readonly RowOf<T>[],
    context: RepositoryContext = this.context,
  ): Promise<void> {
    return context.afterCommit(rows.flatMap((row) => this.cacheKeysOf(row)))
  }

  /**
   * Reads at most one whole row by a key. Outside transactions this is a named prepared
   * statement (compiled once) with no async frames of ours between caller and driver: the
   * hot path. Inside a transaction it is the plain Drizzle query on the transaction.
   * @internal
   */
  protected readOne(
    operation: string,
    query: (
      executor: Executor,
      key: unknown,
    ) => { toSQL(): { sql: string; params: unknown[] } } & PromiseLike<unknown[]>,
    key: unknown,
  ): Promise<RowOf<T> | null> {
    const prepared = this.context.prepared
    if (!prepared) {
      return this.read(operation, async (executor) => {
        const rows = await query(executor, key)
        return (rows[0] as RowOf<T> | undefined) ?? null
      })
    }
    const name = `${this.definition.name}.${operation}`
    let statement = this.#prepared.get(operation)
    try {
      this.context.assertUsable(name)
      if (!statement) {
        const compiled = query(this.context.executor, sql.placeholder('key')).toSQL()
        statement = new PreparedRowQuery<RowOf<T>>(
          prepared,
          `stratum_${this.definition.name}_${operation}`,
          compiled,
          this.definition.columns,
        )
        this.#prepared.set(operation, statement)
      }
    } catch (error) {
      return Promise.reject(mapDatabaseError(error, name))
    }
    const reads = this.context.reads
    const ready = statement
    return (
      reads ? reads.run((connection) => ready.execute({ key }, connection)) : ready.execute({ key })
    ).then(
      (rows) => rows[0] ?? null,
      (error: unknown) => {
        throw mapDatabaseError(error, name)
      },
    )
  }

  /** The row with this primary key; throws `NOT_FOUND` when there is none. */
  async getById(id: IdOf<T>): Promise<RowOf<T>> {
    const row = await this.findById(id)
    if (!row) throw this.notFound(id)
    return row
  }

  /** Rows matching `where`, in `orderBy` order (primary key last), at most `limit`. */
  async findMany(options: FindManyOptions<RowOf<T>> = {}): Promise<RowOf<T>[]> {
    return this.withConsistency(options, 'findMany', () =>
      this.read('findMany', (executor) =>
        selectMany(executor, this.#anyDefinition, options, 'findMany'),
      ),
    ) as Promise<RowOf<T>[]>
  }

  /**
   * One page of rows by keyset pagination: stable under concurrent inserts, and each row
   * is returned exactly once across pages.
   */
  async findPage(options: FindPageOptions<RowOf<T>> = {}): Promise<Page<RowOf<T>>> {
    return this.withConsistency(options, 'findPage', () =>
      this.read('findPage', (executor) =>
        selectPage(executor, this.#anyDefinition, options, 'findPage'),
      ),
    ) as Promise<Page<RowOf<T>>>
  }

  /** How many rows match `where`. */
  async count(where?: Where<RowOf<T>>, options?: ReadOptions): Promise<number> {
    return this.withConsistency(options, 'count', () =>
      this.read('count', (executor) => selectCount(executor, this.#anyDefinition, where)),
    )
  }

  /** Whether any row matches `where`. */
  async exists(where?: Where<RowOf<T>>, options?: ReadOptions): Promise<boolean> {
    return this.withConsistency(options, 'exists', () =>
      this.read('exists', (executor) => selectExists(executor, this.#anyDefinition, where)),
    )
  }

  get #anyDefinition(): TableDefinition<PgTable> {
    return this.definition as unknown as TableDefinition<PgTable>
  }

  /** Inserts one row after validating it; returns the stored row. */
  async create(input: InsertOf<T>): Promise<RowOf<T>> {
    const valid = validate(this.definition.insertSchema, input, `${this.definition.name}.create`)
    const [values] = await this.derive([valid as Record<string, unknown>])
    return this.run('create', async (executor) => {
      const rows = (await executor
        .insert(this.table as PgTable)
        .values(values!)
        .returning()) as RowOf<T>[]
      await this.written(rows)
      return rows[0]!
    })
  }

  /**
   * Inserts many rows in batches, all or nothing (one transaction). Every row is
   * validated first; an invalid row fails the call with its index in the field path.
   */
  createMany(
    inputs: readonly InsertOf<T>[],
    options?: { batchSize?: number; returning?: true },
  ): Promise<RowOf<T>[]>
  /**
   * The bulk form: rows from any iterable or async iterable (a generator, a file being
   * parsed) are validated and inserted a batch at a time, all or nothing (one
   * transaction), and only their count comes back, so memory stays within a few batches
   * however many rows there are. An invalid row fails the call with its index, and nothing
   * is written.
   *
   * @example
   * ```ts
   * const { count } = await data.users.createMany(readUsers(file), { returning: false })
   * ```
   */
  createMany(
    inputs: Iterable<InsertOf<T>> | AsyncIterable<InsertOf<T>>,
    options: { batchSize?: number; returning: false },
  ): Promise<{ count: number }>
  async createMany(
    inputs: Iterable<InsertOf<T>> | AsyncIterable<InsertOf<T>>,
    options: { batchSize?: number; returning?: boolean } = {},
  ): Promise<RowOf<T>[] | { count: number }> {
    const context = `${this.definition.name}.createMany`
    const batchSize = bulkBatchSize(options, Object.keys(this.definition.columns).length, context)
    if (options.returning === false)
      return insertStreaming(
        {
          table: this.table as PgTable,
          pk: this.pk,
          insertSchema: this.definition.insertSchema,
          entityKey: (id) => this.entityKey(id),
          derive: (rows) => this.derive(rows),
          run: (fn) => this.run('createMany', () => this.context.transaction(fn)),
        },
        inputs,
        batchSize,
        context,
      )
    const values = await this.derive(
      validateEach(this.definition.insertSchema, inputs, context) as Record<string, unknown>[],
    )
    if (values.length === 0) return []
    return this.run('createMany', () =>
      this.context.transaction(async (tx) => {
        const out: RowOf<T>[] = []
        for (let i = 0; i < values.length; i += batchSize) {
          const rows = await tx.executor
            .insert(this.table as PgTable)
            .values(values.slice(i, i + batchSize))
            .returning()
          appendAll(out, rows as RowOf<T>[])
        }
        await this.written(out, tx)
        return out
      }),
    )
  }

  /** Applies a validated partial update; returns the new row or throws `NOT_FOUND`. */
  async update(id: IdOf<T>, patch: Partial<InsertOf<T>>): Promise<RowOf<T>> {
    const bad = this.badId(id, 'update')
    if (bad) throw bad
    const values = validate(
      this.definition.updateSchema,
      patch,
      `${this.definition.name}.update`,
    ) as Record<string, unknown>
    const given = Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined))
    if (Object.keys(given).length === 0) return this.getById(id)
    const defined = await this.derivePatch(given)
    return this.run('update', async (executor) => {
      const rows = (await executor
        .update(this.table as PgTable)
        .set(defined)
        .where(eq(this.pk, id))
        .returning()) as RowOf<T>[]
      if (!rows[0]) throw this.notFound(id)
      await this.written(rows)
      return rows[0]
    })
  }

  /**
   * Inserts the row, or updates the existing one that conflicts on `target` (default:
   * the primary key) with the given values; returns the stored row.
   */
  async upsert(input: InsertOf<T>, options: UpsertOptions<RowOf<T>> = {}): Promise<RowOf<T>> {
    const context = `${this.definition.name}.upsert`
    const [values] = (await this.derive([
      validate(this.definition.insertSchema, input, context) as Record<string, unknown>,
    ])) as [Record<string, unknown>]
    const targetKeys = options.target ?? [this.definition.primaryKey.key]
    if (!Array.isArray(targetKeys) || targetKeys.length === 0)
      throw new ValidationError(context, [
        { path: 'target', message: 'must be a non-empty array of column names' },
      ])
    const target = targetKeys.map((key) => {
      const column = Object.hasOwn(this.definition.columns, key)
        ? this.definition.columns[key]
        : undefined
      if (!column)
        throw new ValidationError(context, [
          { path: `target.${key}`, message: 'is not a column of this table' },
        ])
      return column
    })
    const set = Object.fromEntries(
      Object.entries(values).filter(
        ([key]) => !targetKeys.includes(key) && key !== this.definition.primaryKey.key,
      ),
    )
    // With nothing to change, touch a target column so RETURNING still yields the row.
    const firstTarget = target[0]!
    const effectiveSet =
      Object.keys(set).length > 0
        ? set
        : { [targetKeys[0]!]: sql`excluded.${sql.identifier(firstTarget.name)}` }
    return this.run('upsert', async (executor) => {
      try {
        const rows = (await executor
          .insert(this.table as PgTable)
          .values(values)
          .onConflictDoUpdate({ target, set: effectiveSet })
          .returning()) as RowOf<T>[]
        await this.written(rows)
        return rows[0]!
      } catch (error) {
        if (sqlStateOf(error) !== '42P10') throw error
        throw new ValidationError(context, [
          {
            path: 'target',
            message: `(${targetKeys.map((key) => clip(String(key))).join(', ')}) is not the column list of a unique constraint or index`,
          },
        ])
      }
    })
  }

  /** Deletes the row with this primary key; returns whether a row was deleted. */
  async delete(id: IdOf<T>): Promise<boolean> {
    const bad = this.badId(id, 'delete')
    if (bad) throw bad
    return this.run('delete', () =>
      this.context.transaction(async (tx) => {
        const cascaded = [
          ...(await this.cascadeKeys(tx.executor, id)),
          ...(await this.context.cascades.keysOnDelete(tx.executor, this.definition.name, [id])),
        ]
        const rows = (await tx.executor
          .delete(this.table as PgTable)
          .where(eq(this.pk, id))
          .returning()) as RowOf<T>[]
        await tx.afterCommit([...cascaded, ...rows.flatMap((row) => this.cacheKeysOf(row))])
        if (rows.length > 0) await tx.drainBlobDeletions()
        return rows.length > 0
      }),
    )
  }
}
