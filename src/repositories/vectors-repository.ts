import { and, eq, sql } from 'drizzle-orm'
import { z } from 'zod'
import type { Executor } from '../db/connection.js'
import { StratumError, ValidationError } from '../errors.js'
import { chatVectors, type NewChatVector, vectorInsertSchema } from '../schema/chat-vectors.js'
import { embeddingField } from '../schema/fields.js'
import type { RepositoryContext } from './repository-context.js'
import { runOperation } from './run-operation.js'
import { validate, validateEach } from './validate.js'

/** Arguments of `vectors.search`. */
export interface VectorSearchOptions {
  /** The tenant: only this user's vectors are searched. */
  userId: string
  /** The query embedding (same dimension as configured). */
  embedding: number[]
  /** Restrict to one chat. */
  chatId?: string | undefined
  /** How many results (default 10, at most 1000). */
  limit?: number | undefined
}

/** One search result, best first. */
export interface VectorSearchHit {
  readonly id: string
  readonly content: string
  readonly metadata: Record<string, unknown>
  readonly chatId: string | null
  readonly messageId: string | null
  readonly chunkIndex: number
  /** Cosine distance (0 = same direction, 2 = opposite). */
  readonly distance: number
  /** 1 - distance: higher is more similar. */
  readonly score: number
}

/** What `vectors.upsert` returns per stored item, in input order. */
export interface UpsertedVector {
  readonly id: string
  readonly messageId: string | null
  readonly chunkIndex: number
}

const searchSchema = (dimensions: number) =>
  z
    .object({
      userId: z.uuid(),
      embedding: embeddingField(dimensions),
      chatId: z.uuid().optional(),
      limit: z.number().int().min(1).max(1000).default(10),
    })
    .strict()

/**
 * Embedded chunks and cosine similarity search, always scoped to one user.
 *
 * @example
 * ```ts
 * await data.vectors.upsert([{ userId, chatId, messageId, content, embedding }])
 * const hits = await data.vectors.search({ userId, embedding: query, limit: 5 })
 * ```
 */
export class VectorStore {
  readonly #context: RepositoryContext
  readonly #searchSchema: ReturnType<typeof searchSchema>
  readonly #insertSchema: ReturnType<typeof vectorInsertSchema>

  /** @internal */
  constructor(context: RepositoryContext) {
    this.#context = context
    this.#searchSchema = searchSchema(context.dimensions)
    this.#insertSchema = vectorInsertSchema(context.dimensions)
  }

  /** The Drizzle table of the vectors. */
  get table(): typeof chatVectors {
    return chatVectors
  }

  private run<R>(operation: string, fn: (executor: Executor) => Promise<R>): Promise<R> {
    return runOperation(this.#context, `chat_vectors.${operation}`, fn)
  }

  /**
   * Stores chunks, all or nothing. A chunk with a `messageId` replaces the one with the
   * same (messageId, chunkIndex); one without replaces the row with its `id`, if given.
   * A chunk never moves to another user: that is a `CONFLICT`.
   */
  async upsert(items: readonly NewChatVector[]): Promise<UpsertedVector[]> {
    const context = 'chat_vectors.upsert'
    const values = validateEach(this.#insertSchema, items, context) as NewChatVector[]
    const seen = new Map<string, number>()
    values.forEach((v, i) => {
      if (!v.messageId) return
      const key = `${v.messageId}:${v.chunkIndex ?? 0}`
      const first = seen.get(key)
      if (first !== undefined) {
        throw new ValidationError(context, [
          { path: `[${i}]`, message: `repeats messageId and chunkIndex of item ${first}` },
        ])
      }
      seen.set(key, i)
    })
    if (values.length === 0) return []
    return this.run('upsert', () =>
      this.#context.transaction(async (tx) => {
        const out: UpsertedVector[] = []
        for (let i = 0; i < values.length; i += 500) {
          const batch = values.slice(i, i + 500)
          const byMessage = batch.filter((v) => v.messageId)
          const standalone = batch.filter((v) => !v.messageId)
          const returning = {
            id: chatVectors.id,
            messageId: chatVectors.messageId,
            chunkIndex: chatVectors.chunkIndex,
          }
          const set = {
            content: sql`excluded.content`,
            embedding: sql`excluded.embedding`,
            metadata: sql`excluded.metadata`,
            chatId: sql`excluded.chat_id`,
            updatedAt: sql`now()`,
          }
          const sameUser = sql`${chatVectors.userId} = excluded.user_id`
          const stored: UpsertedVector[] = []
          if (byMessage.length > 0) {
            stored.push(
              ...(await tx.executor
                .insert(chatVectors)
                .values(byMessage)
                .onConflictDoUpdate({
                  target: [chatVectors.messageId, chatVectors.chunkIndex],
                  set,
                  setWhere: sameUser,
                })
                .returning(returning)),
            )
          }
          if (standalone.length > 0) {
            stored.push(
              ...(await tx.executor
                .insert(chatVectors)
                .values(standalone)
                .onConflictDoUpdate({ target: chatVectors.id, set, setWhere: sameUser })
                .returning(returning)),
            )
          }
          if (stored.length !== batch.length) {
            throw new StratumError(
              'CONFLICT',
              `${context}: ${batch.length - stored.length} item(s) would overwrite another user's vectors; nothing was stored`,
            )
          }
          const byKey = new Map(
            stored.map((s) => [s.messageId ? `${s.messageId}:${s.chunkIndex}` : s.id, s]),
          )
          for (const v of batch)
            out.push(
              byKey.get(v.messageId ? `${v.messageId}:${v.chunkIndex ?? 0}` : v.id!) ??
                stored[out.length]!,
            )
        }
        return out
      }),
    )
  }

  /**
   * The user's chunks nearest to `embedding` by cosine distance, best first. Uses the
   * HNSW index with pgvector's iterative scan, so a selective filter still yields
   * `limit` results when that many match.
   */
  async search(options: VectorSearchOptions): Promise<VectorSearchHit[]> {
    const query = validate(this.#searchSchema, options, 'chat_vectors.search')
    const vector = `[${query.embedding.join(',')}]`
    const distance = sql<number>`${chatVectors.embedding} <=> ${vector}::vector`
    return this.run('search', () =>
      this.#context.transaction(async (tx) => {
        await tx.executor.execute(sql`SET LOCAL hnsw.iterative_scan = strict_order`)
        const rows = await tx.executor
          .select({
            id: chatVectors.id,
            content: chatVectors.content,
            metadata: chatVectors.metadata,
            chatId: chatVectors.chatId,
            messageId: chatVectors.messageId,
            chunkIndex: chatVectors.chunkIndex,
            distance,
          })
          .from(chatVectors)
          .where(
            and(
              eq(chatVectors.userId, query.userId),
              query.chatId ? eq(chatVectors.chatId, query.chatId) : undefined,
            ),
          )
          .orderBy(distance)
          .limit(query.limit)
        return rows.map((row) => ({
          ...row,
          distance: Number(row.distance),
          score: 1 - Number(row.distance),
        }))
      }),
    )
  }
}
