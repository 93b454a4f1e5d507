import type { DatabaseConnection } from '../db/connection.js'
import { mapIfDatabaseError } from '../db/map-database-error.js'
import { StratumError } from '../errors.js'
import type { RepositoryContext } from '../repositories/repository-context.js'
import { indexedEmbedding } from './indexed-embedding.js'
import {
  convertToPartitions,
  type PartitionConversionOptions,
  type PartitionConversionReport,
} from './partition-conversion.js'
import { type EnsureIndexOptions, type VectorIndex, VectorIndexes } from './vector-indexes.js'
import { VectorStore } from './vector-store.js'

/** Where index builds and conversions run: the connection, or an admin / direct URL's. */
export type DdlSession = Pick<DatabaseConnection, 'kind' | 'query' | 'withMigrationLock'>

/**
 * The data layer's own vector store (`data.vectors`): the data operations of
 * {@link VectorStore} plus the administration of the table, its indexes and its layout,
 * which runs outside transactions only. A transaction's `tx.vectors` is typed as the plain
 * `VectorStore`; called from untyped code, these methods there fail with
 * `TRANSACTION_MISUSE`.
 */
export class AdministeredVectorStore extends VectorStore {
  readonly #context: RepositoryContext
  readonly #indexes: VectorIndexes | undefined
  readonly #ddl: DdlSession | undefined

  /**
   * @internal Without `connection` (a transaction's store) every administration method
   * refuses; `ddl` is where index builds run when it is not `connection` (an admin URL).
   */
  constructor(context: RepositoryContext, connection?: DatabaseConnection, ddl?: DdlSession) {
    super(context, connection)
    this.#context = context
    this.#ddl = connection && (ddl ?? connection)
    this.#indexes = this.#ddl && new VectorIndexes(this.#ddl, indexedEmbedding(context.dimensions))
  }

  /**
   * Builds a vector index for a metric unless a valid one of that type and metric exists
   * (an invalid one, left by a failed concurrent build, is rebuilt). On a server the build
   * runs `CREATE INDEX CONCURRENTLY` with `maintenance_work_mem` set for it, reporting
   * `pg_stat_progress_create_index` through `onProgress`.
   *
   * @example
   * ```ts
   * await data.vectors.ensureIndex({ metric: 'l2', m: 16, efConstruction: 64, onProgress: console.log })
   * ```
   */
  ensureIndex(options: EnsureIndexOptions = {}): Promise<{ name: string; created: boolean }> {
    return this.#indexManager('ensureIndex').ensure(options)
  }

  /**
   * Converts a one-table `chat_vectors` into `partitions` hash partitions by `user_id`
   * while the application keeps reading and writing it: a copy is made from the table's own
   * definition, kept in step by a trigger while rows are copied in batches, and swapped in
   * within one short transaction that only renames (the counts are checked before it, in
   * one snapshot), and the old table is dropped after it.
   * Runs on the admin or direct URL when one is set, under the migration lock. Other
   * processes pick the new layout up on their next upsert; configure
   * `embeddings.partitions` to the same count before they next start.
   *
   * @example
   * ```ts
   * const report = await data.vectors.partition({ partitions: 16, onProgress: console.log })
   * ```
   */
  async partition(options: PartitionConversionOptions): Promise<PartitionConversionReport> {
    const ddl = this.#outsideTransaction('partition', this.#ddl)
    try {
      return await ddl.withMigrationLock((session) => convertToPartitions(session, options))
    } catch (error) {
      throw mapIfDatabaseError(error, 'chat_vectors.partition')
    } finally {
      this.#context.vectorTable.forget()
    }
  }

  /** Drops a vector index by name; resolves to false when there is none. */
  dropIndex(name: string): Promise<boolean> {
    return this.#indexManager('dropIndex').drop(name)
  }

  /** The vector indexes on `chat_vectors.embedding`, with their metric and build options. */
  indexes(): Promise<VectorIndex[]> {
    return this.#indexManager('indexes').list()
  }

  #indexManager(operation: string): VectorIndexes {
    return this.#outsideTransaction(operation, this.#indexes)
  }

  /**
   * `handle`, which only the data layer's own store has (index management, conversions):
   * `CLOSED` after close, `TRANSACTION_MISUSE` on a transaction's store.
   */
  #outsideTransaction<H>(operation: string, handle: H | undefined): H {
    this.#context.assertUsable(`chat_vectors.${operation}`)
    if (!handle) {
      throw new StratumError(
        'TRANSACTION_MISUSE',
        `chat_vectors.${operation} cannot run inside a transaction: call it on the data layer`,
      )
    }
    return handle
  }
}
