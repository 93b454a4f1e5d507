import type { PgTable } from 'drizzle-orm/pg-core'
import type { Cache } from '../cache/cache.js'
import type { SessionStore } from '../cache/session-store.js'
import type { ResolvedOptions } from '../config/options.js'
import type { AdminConnection } from '../db/admin-connection.js'
import type { DatabaseConnection, StratumTransaction } from '../db/connection.js'
import type { ReadReplicas } from '../db/read-replicas.js'
import { assertOutsideTransaction, runInTransactionContext } from '../db/transaction-context.js'
import type { VectorTableLayout } from '../db/vector-table.js'
import type { DataLayerExtension, ExtensionScope } from '../extensions/extension.js'
import { drainAfterWrite } from '../repositories/blob-deletion-queue.js'
import type { ChatEvent } from '../repositories/chat-events.js'
import { ChatsRepository } from '../repositories/chats-repository.js'
import { eraseUser } from '../repositories/erase-user.js'
import { MessagesRepository } from '../repositories/messages-repository.js'
import { Repository } from '../repositories/repository.js'
import type { RepositoryContext } from '../repositories/repository-context.js'
import {
  defineTable,
  type TableDefinition,
  type TableSchemas,
} from '../repositories/table-definition.js'
import { UsersRepository } from '../repositories/users-repository.js'
import { chatMessages, messageInsertSchema, messageUpdateSchema } from '../schema/chat-messages.js'
import { chatInsertSchema, chats, chatUpdateSchema } from '../schema/chats.js'
import { userInsertSchema, users, userUpdateSchema } from '../schema/users.js'
import type { BlobStore } from '../storage/blob-store.js'
import type { TokenCounting } from '../tokens/token-counter.js'
import { appendAll } from '../util/append-all.js'
import { AdministeredVectorStore } from '../vector/vector-admin.js'
import type { EntityCaching } from './entity-cache-policy.js'
import { assertOpen, type LayerState } from './layer-state.js'
import type { TransactionOptions } from './transaction-options.js'
import type { Repositories, TransactionScope } from './types.js'

const CORE_DEFINITIONS = {
  users: defineTable(users, { insert: userInsertSchema, update: userUpdateSchema }),
  chats: defineTable(chats, { insert: chatInsertSchema, update: chatUpdateSchema }),
  messages: defineTable(chatMessages, { insert: messageInsertSchema, update: messageUpdateSchema }),
}

/**
 * The repositories of one scope. A transaction's scope gets no `connection`: its vector
 * store then refuses administration at run time too, for callers without the types.
 */
function buildRepositories(
  context: RepositoryContext,
  connection?: DatabaseConnection,
  ddl?: AdminConnection,
): Repositories {
  const definitions = new WeakMap<PgTable, TableDefinition>()
  const repositories = new WeakMap<PgTable, Repository<PgTable>>()
  return {
    users: new UsersRepository(context, CORE_DEFINITIONS.users),
    chats: new ChatsRepository(context, CORE_DEFINITIONS.chats),
    messages: new MessagesRepository(context, CORE_DEFINITIONS.messages),
    vectors: new AdministeredVectorStore(context, connection, ddl),
    repository<T extends PgTable>(table: T, schemas?: TableSchemas): Repository<T> {
      if (!schemas) {
        const cached = repositories.get(table)
        if (cached) return cached as unknown as Repository<T>
      }
      let definition = definitions.get(table)
      if (!definition || schemas) {
        definition = defineTable(table, schemas)
        if (!schemas) definitions.set(table, definition)
      }
      const repository = new Repository(context, definition as TableDefinition<T>)
      if (!schemas) repositories.set(table, repository as unknown as Repository<PgTable>)
      return repository
    },
  }
}

/** `ext` without extensions, shared: every transaction builds a scope. */
const NO_EXTENSIONS: Record<string, unknown> = Object.freeze({})

/**
 * The `ext` object of one scope: each extension's accessor under its name, built on first
 * use (a transaction that never touches an extension does not build it).
 */
function buildExtensions(
  extensions: readonly DataLayerExtension[],
  scope: ExtensionScope,
): Record<string, unknown> {
  if (extensions.length === 0) return NO_EXTENSIONS
  const ext: Record<string, unknown> = {}
  for (const extension of extensions) {
    let built: { value: unknown } | undefined
    Object.defineProperty(ext, extension.name, {
      enumerable: true,
      get() {
        built ??= { value: extension.api(scope) }
        return built.value
      },
    })
  }
  return Object.freeze(ext)
}

/** What the scopes are built on: the open parts of one data layer. */
export interface ScopeParts {
  readonly options: ResolvedOptions
  readonly state: LayerState
  readonly connection: DatabaseConnection
  readonly admin: AdminConnection
  readonly replicas: ReadReplicas | undefined
  readonly cache: Cache
  readonly sessions: SessionStore
  readonly blobs: BlobStore
  readonly vectorTable: VectorTableLayout
  readonly caching: EntityCaching
  /** Publishes chat events after a commit (best effort: never throws). */
  readonly publish: (events: readonly ChatEvent[]) => Promise<void>
  /** Counts the tokens of messages as they are written. */
  readonly tokens: TokenCounting
  /** URLs of attachments, for the file parts of messages read. */
  readonly fileUrls: (attachmentIds: readonly string[]) => Promise<Map<string, string>>
}

/** The data layer's own scope, and how a transaction's scope is made. */
export interface Scopes {
  /** The data layer's repositories and the context they share. */
  readonly root: { readonly context: RepositoryContext; readonly repositories: Repositories }
  /** The data layer's `ext`. */
  readonly ext: Record<string, unknown>
  /**
   * Runs `fn` in one transaction with a scope bound to it; the cache keys its writes made
   * stale are invalidated after COMMIT (and never after a rollback).
   */
  transaction<T>(
    fn: (tx: TransactionScope<Record<string, unknown>>) => Promise<T>,
    options?: TransactionOptions,
  ): Promise<T>
}

/** Builds the root scope and the transaction scopes of one data layer. */
export function createScopes(parts: ScopeParts): Scopes {
  const { options, state, connection, cache, caching, vectorTable } = parts
  const shared = {
    cachePolicy: caching.cachePolicy,
    cascades: caching.cascades,
    dimensions: options.embeddings.dimensions,
    vectorTable,
    fullTextLanguage: options.embeddings.fullTextLanguage,
    fileUrls: parts.fileUrls,
    tokens: parts.tokens,
  }

  const drain = () => drainAfterWrite(connection.db, parts.blobs, options.logger)

  const transactionContext = (
    tx: StratumTransaction,
    stale: string[],
    after: { drain: boolean; events: ChatEvent[] },
  ): RepositoryContext => ({
    ...shared,
    executor: tx,
    inTransaction: true,
    prepared: undefined,
    cache: undefined,
    // Collected now, invalidated after COMMIT; a rollback drops them unseen.
    afterCommit: async (keys) => {
      appendAll(stale, keys)
    },
    drainBlobDeletions: async () => {
      after.drain = true
    },
    publishAfterCommit: async (events) => {
      appendAll(after.events, events)
    },
    assertUsable: (operation) => assertOpen(state, operation),
    transaction: (fn) =>
      tx.transaction((inner) => fn(transactionContext(inner as StratumTransaction, stale, after))),
  })

  const runTransaction = async <T>(
    fn: (context: RepositoryContext) => Promise<T>,
    config?: TransactionOptions,
  ): Promise<T> => {
    parts.replicas?.noteWrite()
    const stale: string[] = []
    const after = { drain: false, events: [] as ChatEvent[] }
    const result = await connection.transaction(
      (tx) => runInTransactionContext(connection, () => fn(transactionContext(tx, stale, after))),
      config,
    )
    await cache.invalidate([...new Set(stale)])
    if (after.events.length > 0) await parts.publish(after.events)
    if (after.drain) await drain()
    return result
  }

  const rootContext: RepositoryContext = {
    ...shared,
    executor: connection.db,
    inTransaction: false,
    prepared: connection,
    reads: parts.replicas,
    cache,
    afterCommit: (keys) => cache.invalidate(keys),
    drainBlobDeletions: drain,
    publishAfterCommit: (events) => parts.publish(events),
    assertUsable: (operation) => {
      assertOpen(state, operation)
      assertOutsideTransaction(connection, operation)
    },
    eraseUser: (userId) =>
      eraseUser(
        {
          db: connection.db,
          cache,
          sessions: parts.sessions,
          blobs: parts.blobs,
          blobPrefixes: options.erasure.blobPrefixes,
          cascades: caching.cascades,
          transaction: (fn) =>
            connection.transaction((tx) => runInTransactionContext(connection, () => fn(tx))),
        },
        userId,
      ),
    transaction: (fn) => runTransaction(fn),
  }

  const scopeOf = (context: RepositoryContext): TransactionScope<Record<string, unknown>> => {
    const repositories = buildRepositories(context)
    const db = context.executor as StratumTransaction
    return {
      ...repositories,
      db,
      ext: buildExtensions(options.extensions, { ...repositories, db, inTransaction: true }),
      transaction: (fn) => context.transaction((inner) => fn(scopeOf(inner))),
    }
  }

  const rootRepositories = buildRepositories(rootContext, connection, parts.admin)
  return {
    root: { context: rootContext, repositories: rootRepositories },
    ext: buildExtensions(options.extensions, {
      ...rootRepositories,
      db: connection.db,
      inTransaction: false,
    }),
    transaction: (fn, config) => runTransaction((context) => fn(scopeOf(context)), config),
  }
}
