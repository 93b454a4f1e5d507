import { eq, inArray, type SQL, sql } from 'drizzle-orm'
import { v7 as uuidv7 } from 'uuid'
import type { DatabaseConnection, Executor } from '../db/connection.js'
import { sqlStateOf } from '../db/map-database-error.js'
import { ValidationError } from '../errors.js'
import type { RepositoryContext } from '../repositories/repository-context.js'
import { runOperation, runRead } from '../repositories/run-operation.js'
import { validate, validateEach } from '../repositories/validate.js'
import { chatVectors, type NewChatVector, vectorInsertSchema } from '../schema/chat-vectors.js'
import { appendAll } from '../util/append-all.js'
import { type ChatSearchOptions, type ChatSearchResult, searchChats } from './chat-search.js'
import { chunkConflictKeys, otherOwnerConflict, otherOwnerQuery } from './chunk-keys.js'
import { type IndexedEmbedding, indexedEmbedding } from './indexed-embedding.js'
import { METRICS } from './metrics.js'
import {
  type ChunkRow,
  chunkColumns,
  chunkOf,
  conditionsOf,
  dialect,
  scannedIndexes,
} from './search-rows.js'
import { hybridSchema, recallSchema, searchSchema, selectorSchema } from './vector-inputs.js'
import type {
  HybridSearchHit,
  HybridSearchOptions,
  RecallOptions,
  RecallReport,
  UpsertedVector,
  VectorSearchHit,
  VectorSearchOptions,
  VectorSearchPlan,
  VectorSelector,
} from './vector-types.js'
import { COPY_THRESHOLD, inInputOrder, upsertByCopy } from './vector-upsert.js'

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

  readonly #indexed: IndexedEmbedding
  readonly #connection: DatabaseConnection | undefined

  /** @internal `connection` is given outside transactions (COPY ingest on a server). */
  constructor(context: RepositoryContext, connection?: DatabaseConnection) {
    this.#context = context
    this.#connection = connection
    this.#indexed = indexedEmbedding(context.dimensions)
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
    const validated = validateEach(this.#insertSchema, items, context) as NewChatVector[]
    // Only keys the caller chose can belong to another user; the ids made below cannot.
    const keyed = validated.filter((v) => v.messageId || v.id)
    // Standalone chunks get their id here, so each stored row can be matched to its item.
    const values = validated.map((v) => (v.messageId || v.id ? v : { ...v, id: uuidv7() }))
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
    // Large batches outside a caller's transaction go through COPY into a staging table and
    // one merge; inside one (or small), through multi-row INSERTs in that transaction.
    const byCopy =
      this.#connection && !this.#context.inTransaction && values.length >= COPY_THRESHOLD
        ? this.#connection
        : undefined
    return this.run('upsert', async () => {
      try {
        return await this.#upsertOnLayout(values, keyed, byCopy)
      } catch (error) {
        // Another process converted the table to partitions since this layer read its
        // layout: the conflict keys no longer match a unique key (42P10). Read it again.
        if (sqlStateOf(error) !== '42P10') throw error
        this.#context.vectorTable.forget()
        return this.#upsertOnLayout(values, keyed, byCopy)
      }
    })
  }

  async #upsertOnLayout(
    values: readonly NewChatVector[],
    keyed: readonly NewChatVector[],
    byCopy: DatabaseConnection | undefined,
  ): Promise<UpsertedVector[]> {
    const partitioned = (await this.#context.vectorTable.partitions()) > 0
    // One query for the whole call, run in its transaction before anything is written.
    const check = partitioned ? otherOwnerQuery(keyed) : undefined
    if (byCopy) return upsertByCopy(byCopy, values, partitioned, check, this.#context.dimensions)
    const keys = chunkConflictKeys(partitioned)
    return this.#context.transaction(async (tx) => {
      if (check && (await tx.executor.execute(check)).rows.length > 0) throw otherOwnerConflict()
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
              .onConflictDoUpdate({ target: keys.byMessage, set, setWhere: sameUser })
              .returning(returning)),
          )
        }
        if (standalone.length > 0) {
          stored.push(
            ...(await tx.executor
              .insert(chatVectors)
              .values(standalone)
              .onConflictDoUpdate({ target: keys.byId, set, setWhere: sameUser })
              .returning(returning)),
          )
        }
        appendAll(out, inInputOrder(batch, stored))
      }
      return out
    })
  }

  /**
   * Vector search and Postgres full-text search (`websearch_to_tsquery` over the generated
   * `content_tsv` column, GIN-indexed, in the configured language) fused by reciprocal rank
   * fusion: each result scores `Σ weight / (rrfK + rank)` over the lists it appears in.
   * Takes the tenant, chat, filter and metric options of {@link search}; each side ranks
   * `candidates` rows (default: the larger of 40 and 4 x limit).
   *
   * @example
   * ```ts
   * const hits = await data.vectors.hybridSearch({ userId, text: 'invoice march', embedding, limit: 5 })
   * ```
   */
  hybridSearch(options: HybridSearchOptions): Promise<HybridSearchHit[]> {
    // Both halves on the primary when asked: the consistency option rides in vectorOptions.
    return this.#onPrimaryIfAsked(options, () => this.#hybridSearch(options))
  }

  /**
   * The user's chats ranked by how well their messages match a query, by text and by
   * meaning (this hybrid search, grouped by chat), each with its best matching chunks.
   * Deleted chats are never returned, archived ones only when asked.
   *
   * @example
   * ```ts
   * const found = await data.vectors.searchChats({ userId, text: 'trip to Zürich', embedding })
   * ```
   */
  searchChats(options: ChatSearchOptions): Promise<ChatSearchResult[]> {
    return searchChats(
      options,
      (hybrid) => this.#hybridSearch(hybrid),
      (fn) => runRead(this.#context, 'chat_vectors.searchChats', fn),
    )
  }

  async #hybridSearch(options: HybridSearchOptions): Promise<HybridSearchHit[]> {
    const { text, rrfK, weights, candidates, ...vectorOptions } = options
    const fusion = validate(
      hybridSchema,
      { text, rrfK, weights, candidates },
      'chat_vectors.hybridSearch',
    )
    const limit = vectorOptions.limit ?? 10
    const perSide = fusion.candidates ?? Math.min(1000, Math.max(40, limit * 4))
    const byVector = (await this.#search({ ...vectorOptions, limit: perSide })) as VectorSearchHit[]
    const where = conditionsOf(vectorOptions, 'chat_vectors.hybridSearch')
    const byText = await runRead(this.#context, 'chat_vectors.hybridSearch', async (executor) => {
      const { rows } = await executor.execute<ChunkRow>(sql`select ${chunkColumns}
          from ${chatVectors}, websearch_to_tsquery(${this.#context.fullTextLanguage}::regconfig, ${fusion.text}) as q
          where ${chatVectors.contentTsv} @@ q ${where ? sql`and ${where}` : sql``}
          order by ts_rank_cd(${chatVectors.contentTsv}, q) desc, ${chatVectors.id}
          limit ${perSide}`)
      return rows
    })
    const fused = new Map<string, HybridSearchHit & { score: number }>()
    byVector.forEach((hit, i) => {
      fused.set(hit.id, {
        ...hit,
        vectorRank: i + 1,
        textRank: null,
        score: fusion.weights.vector / (fusion.rrfK + i + 1),
      })
    })
    byText.forEach((row, i) => {
      const add = fusion.weights.text / (fusion.rrfK + i + 1)
      const known = fused.get(row.id)
      if (known) {
        fused.set(row.id, { ...known, textRank: i + 1, score: known.score + add })
        return
      }
      fused.set(row.id, {
        ...chunkOf(row),
        distance: null,
        vectorRank: null,
        textRank: i + 1,
        score: add,
      })
    })
    return [...fused.values()]
      .sort((a, b) => b.score - a.score || a.id.localeCompare(b.id))
      .slice(0, limit)
  }

  /**
   * Recall@k of indexed search against exact search, measured on `sample` stored vectors
   * used as queries (default 50, limit 10), with the same settings a search would use.
   * `perUser: true` scopes each query to its vector's user (the filtered case); otherwise
   * queries search every user. Use it to choose `efSearch`.
   *
   * @example
   * ```ts
   * const { recall } = await data.vectors.measureRecall({ sample: 100, efSearch: 60 })
   * ```
   */
  measureRecall(options: RecallOptions = {}): Promise<RecallReport> {
    // The sample, the exact and the index rankings all on one server (the primary).
    const reads = this.#context.reads
    return reads
      ? reads.onPrimary(() => this.#measureRecall(options))
      : this.#measureRecall(options)
  }

  async #measureRecall(options: RecallOptions): Promise<RecallReport> {
    const wanted = validate(recallSchema, options, 'chat_vectors.measureRecall')
    const samples = await this.run('measureRecall', async (executor) => {
      const { rows } = await executor.execute<{ embedding: string; user_id: string }>(
        sql`select ${chatVectors.embedding}::text as embedding, ${chatVectors.userId} as user_id
            from ${chatVectors}
            order by ${
              wanted.seed === undefined
                ? sql`random()`
                : sql`md5(${chatVectors.id}::text || ${String(wanted.seed)}), ${chatVectors.id}`
            }
            limit ${wanted.sample}`,
      )
      return rows
    })
    const perQuery: number[] = []
    for (const sample of samples) {
      const base = {
        embedding: JSON.parse(sample.embedding) as number[],
        limit: wanted.limit,
        metric: wanted.metric,
        efSearch: wanted.efSearch,
        ...(wanted.perUser ? { userId: sample.user_id } : { scope: 'all' as const }),
      }
      const exact = (await this.#search(base, 'exact')) as VectorSearchHit[]
      const indexed = (await this.#search(base, 'index')) as VectorSearchHit[]
      if (exact.length === 0) continue
      const found = new Set(indexed.map((h) => h.id))
      perQuery.push(exact.filter((h) => found.has(h.id)).length / exact.length)
    }
    const recall = perQuery.length ? perQuery.reduce((a, b) => a + b, 0) / perQuery.length : 1
    return {
      recall,
      queries: perQuery.length,
      limit: wanted.limit,
      metric: wanted.metric,
      efSearch: wanted.efSearch ?? Math.min(1000, Math.max(100, wanted.limit)),
    }
  }

  /**
   * Removes vectors: by ids, or every chunk of a message, a chat or a user. Resolves to how
   * many were removed.
   */
  async delete(selector: VectorSelector): Promise<number> {
    const which = validate(selectorSchema, selector, 'chat_vectors.delete')
    const where =
      'ids' in which
        ? inArray(chatVectors.id, which.ids)
        : 'messageId' in which
          ? eq(chatVectors.messageId, which.messageId)
          : 'chatId' in which
            ? eq(chatVectors.chatId, which.chatId)
            : eq(chatVectors.userId, which.userId)
    return this.run('delete', async (executor) => {
      const removed = await executor
        .delete(chatVectors)
        .where(where)
        .returning({ id: chatVectors.id })
      return removed.length
    })
  }

  /**
   * The chunks nearest to `embedding`, best first, scoped to one user (or, explicitly, to
   * all). Returns `limit` results whenever that many match the conditions: where they leave
   * few rows (at most `exactSearchBelow`) every candidate is ranked exactly; otherwise the
   * metric's index is scanned with pgvector's iterative scan until enough rows pass. The
   * SQL orders by the raw distance operator, so an index with the metric's operator class
   * serves it. With `explain: true` it resolves to `{ hits, plan }`.
   */
  search(options: VectorSearchOptions & { explain: true }): Promise<{
    hits: VectorSearchHit[]
    plan: VectorSearchPlan
  }>
  search(options: VectorSearchOptions & { explain?: false | undefined }): Promise<VectorSearchHit[]>
  search(
    options: VectorSearchOptions & { explain?: boolean | undefined },
  ): Promise<VectorSearchHit[] | { hits: VectorSearchHit[]; plan: VectorSearchPlan }> {
    return this.#onPrimaryIfAsked(options, () => this.#search(options)) as never
  }

  #onPrimaryIfAsked<R>(options: { consistency?: unknown }, fn: () => Promise<R>): Promise<R> {
    const reads = this.#context.reads
    return reads && options?.consistency === 'primary' ? reads.onPrimary(fn) : fn()
  }

  async #search(
    options: VectorSearchOptions & { explain?: boolean | undefined },
    forcedPath?: 'index' | 'exact',
  ): Promise<VectorSearchHit[] | { hits: VectorSearchHit[]; plan: VectorSearchPlan }> {
    const query = validate(this.#searchSchema, options, 'chat_vectors.search')
    const where = conditionsOf(query, 'chat_vectors.search')
    const metric = METRICS[query.metric]
    const literal = `[${query.embedding.join(',')}]`
    const vector = sql`${literal}::vector`
    // The index path orders by the indexed expression (halfvec above 2,000 dimensions); the
    // exact path ranks the stored full-precision vectors.
    const indexed = this.#indexed
    const distance = sql<number>`(${indexed.expression} ${metric.operator} ${indexed.cast(literal)})`
    const wanted = query.limit + query.offset
    const efSearch = query.efSearch ?? Math.min(1000, Math.max(100, wanted))
    const maxDistance =
      query.minScore === undefined ? undefined : metric.maxDistance(query.minScore)
    // Iterative scans only where conditions can reject rows the index returns.
    const settings =
      where === undefined
        ? `SET LOCAL hnsw.ef_search = ${efSearch}`
        : `SET LOCAL hnsw.ef_search = ${efSearch}; SET LOCAL hnsw.iterative_scan = relaxed_order; SET LOCAL ivfflat.iterative_scan = relaxed_order`
    const connection = this.#connection
    return runRead(this.#context, 'chat_vectors.search', async (_executor, routed) => {
      type Query = <R extends Record<string, unknown>>(query: SQL) => Promise<R[]>
      // Outside a caller's transaction: one session, BEGIN and the settings in one round
      // trip. Inside one: its executor, with the settings local to it.
      const inSession = <T>(fn: (query: Query) => Promise<T>): Promise<T> =>
        connection && !this.#context.inTransaction
          ? (routed ?? connection).withReadTransaction(settings, (raw) =>
              fn(<R extends Record<string, unknown>>(query: SQL) => {
                const compiled = dialect.sqlToQuery(query)
                return raw<R>(compiled.sql, compiled.params)
              }),
            )
          : this.#context.transaction(async (tx) => {
              const query: Query = async <R extends Record<string, unknown>>(q: SQL) =>
                (await tx.executor.execute<R>(q)).rows
              await query(
                sql`select set_config('hnsw.ef_search', ${String(efSearch)}, true),
                  set_config('hnsw.iterative_scan', 'relaxed_order', true),
                  set_config('ivfflat.iterative_scan', 'relaxed_order', true)`,
              )
              return fn(query)
            })
      return inSession(async (execute) => {
        let candidates: number | undefined
        if (query.exactSearchBelow > 0 && where !== undefined && query.scope === 'user') {
          const [counted] = await execute<{ n: number }>(
            sql`select count(*)::int as n from (select 1 from ${chatVectors} where ${where} limit ${query.exactSearchBelow + 1}) as c`,
          )
          candidates = Number(counted?.n ?? 0)
        }
        const path =
          forcedPath ??
          (candidates !== undefined && candidates <= query.exactSearchBelow ? 'exact' : 'index')
        // Materialized, so the planner cannot turn the exact ranking back into an index scan.
        const ranked =
          path === 'exact'
            ? sql`with candidates as materialized (
                select ${chunkColumns}, ${chatVectors.embedding} as embedding from ${chatVectors}
                ${where ? sql`where ${where}` : sql``}
              )
              select id, content, metadata, chat_id, message_id, chunk_index,
                (embedding ${metric.operator} ${vector}) as distance
              from candidates order by distance limit ${wanted}`
            : // Ordered by the select-list entry, which is the raw operator expression: the
              // index serves it, and the query vector is sent once.
              sql`select ${chunkColumns}, ${distance} as distance from ${chatVectors}
              ${where ? sql`where ${where}` : sql``}
              order by distance limit ${wanted}`
        const postgresPlan = query.explain
          ? (await execute<{ 'QUERY PLAN': string }>(sql`explain ${ranked}`)).map(
              (row) => row['QUERY PLAN'],
            )
          : undefined
        const scanned = postgresPlan ? scannedIndexes(postgresPlan) : []
        // A partition's index is reported as the partitioned index it is attached to.
        const indexNames =
          scanned.length === 0
            ? []
            : (
                await execute<{
                  name: string
                }>(sql`select distinct coalesce(p.relname, c.relname) as name
                  from pg_class c
                  left join pg_inherits h on h.inhrelid = c.oid
                  left join pg_class p on p.oid = h.inhparent
                  where c.relkind in ('i', 'I') and c.relname = any(${`{${scanned.join(',')}}`}::text[])
                  order by 1`)
              ).map((row) => row.name)
        // relaxed_order may return neighbours slightly out of order: they are sorted again
        // here, and minScore and offset apply after the index found the nearest rows (the
        // nearest k within a distance are the nearest k, filtered).
        const rows = (await execute<ChunkRow & { distance: number | string }>(ranked))
          .map((row) => ({ row, d: Number(row.distance) }))
          .sort((a, b) => a.d - b.d || (a.row.id < b.row.id ? -1 : 1))
          .filter(({ d }) => maxDistance === undefined || d <= maxDistance)
          .slice(query.offset)
          .map(({ row }) => row)
        const hits = rows.map((row) => {
          const d = Number(row.distance)
          return { ...chunkOf(row), distance: d, score: metric.score(d) }
        })
        if (!query.explain) return hits
        const plan: VectorSearchPlan = {
          path,
          candidates,
          efSearch,
          metric: query.metric,
          postgresPlan: postgresPlan ?? [],
          indexes: indexNames,
        }
        return { hits, plan }
      })
    })
  }
}
