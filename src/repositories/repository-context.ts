import type { Cache } from '../cache/cache.js'
import type { ReadThroughOptions } from '../cache/cache-types.js'
import type { Executor } from '../db/connection.js'
import type { ReadReplicas } from '../db/read-replicas.js'
import type { VectorTableLayout } from '../db/vector-table.js'
import type { TokenCounting } from '../tokens/token-counter.js'
import type { CascadeGraph } from './cascade-graph.js'
import type { ChatEvent } from './chat-events.js'
import type { ErasureReport } from './erase-user.js'
import type { PreparedQueryRunner } from './prepared-row-query.js'

/**
 * What a repository runs on: the database or one transaction, plus shared settings.
 * @internal
 */
export interface RepositoryContext {
  readonly executor: Executor
  /** True when `executor` is a transaction (prepared statements are not used then). */
  readonly inTransaction: boolean
  /** Runs named prepared statements; only outside transactions. */
  readonly prepared: PreparedQueryRunner | undefined
  /** Routes reads to replicas; only outside transactions, and only when replicas are configured. */
  readonly reads?: ReadReplicas | undefined
  /** The cache to read through, with this table's policy; absent inside transactions. */
  readonly cache: Cache | undefined
  /** How one read method of a table is cached, or undefined when it is not. */
  readonly cachePolicy: (table: string, operation: string) => ReadThroughOptions | undefined
  /**
   * Invalidates cache keys once the current write has committed: at once outside a
   * transaction, after COMMIT inside one, never after a rollback.
   */
  readonly afterCommit: (keys: readonly string[]) => Promise<void>
  /**
   * Deletes the blobs that this write's deleted rows queued (attachments), once it has
   * committed: at once outside a transaction, after COMMIT inside one, never after a
   * rollback. Failures are logged; the keys stay queued.
   */
  readonly drainBlobDeletions: () => Promise<void>
  /**
   * Publishes chat events (`data.live`) once the current write has committed: at once outside
   * a transaction, after COMMIT inside one, never after a rollback. Best effort: a failure is
   * logged, never thrown, since the write itself succeeded.
   */
  readonly publishAfterCommit: (events: readonly ChatEvent[]) => Promise<void>
  /** URLs of attachments by id, for the file parts of messages read (absent: no URLs). */
  readonly fileUrls?: (attachmentIds: readonly string[]) => Promise<Map<string, string>>
  /** Counts the tokens of messages as they are written. */
  readonly tokens: TokenCounting
  /** Cached rows of other tables that a delete reaches through foreign keys. */
  readonly cascades: CascadeGraph
  /** Configured embedding dimension. */
  readonly dimensions: number
  /** Whether (and how many ways) `chat_vectors` is hash-partitioned. */
  readonly vectorTable: Pick<VectorTableLayout, 'partitions' | 'forget'>
  /** Text search configuration of `chat_vectors.content_tsv`. */
  readonly fullTextLanguage: string
  /** Throws `CLOSED` after close(), and `TRANSACTION_MISUSE` for outer use inside a transaction. */
  readonly assertUsable: (operation: string) => void
  /** Erases a user everywhere (rows, cache, sessions, blobs); absent inside transactions. */
  readonly eraseUser?: (userId: string) => Promise<ErasureReport>
  /** Runs `fn` in a transaction (a savepoint when already in one) with a context bound to it. */
  readonly transaction: <T>(fn: (context: RepositoryContext) => Promise<T>) => Promise<T>
}
