import { inArray, sql } from 'drizzle-orm'
import { sqlStateOf, withDatabaseErrors } from '../db/map-database-error.js'
import { StratumError } from '../errors.js'
import type { RepositoryContext } from '../repositories/repository-context.js'
import type { ChatMessage } from '../schema/chat-messages.js'
import { chatVectors } from '../schema/chat-vectors.js'
import { embeddingJobs, embeddingQueueSwitch } from '../schema/embedding-jobs.js'
import { clip } from '../util/clip.js'
import { redactSecrets } from '../util/redact-secrets.js'
import { VectorStore } from '../vector/vector-store.js'
import type { ResolvedEmbedOnWrite } from './embed-on-write-options.js'
import { chunkText, embeddableText } from './text-chunks.js'

/** What one batch did. */
export interface EmbeddingBatchResult {
  /** Messages claimed. */
  readonly claimed: number
  /** Messages whose vectors were replaced (and taken off the queue). */
  readonly embedded: number
  /** Chunks stored. */
  readonly chunks: number
  /** Messages changed while they were embedded: queued again, nothing stored for them. */
  readonly requeued: number
  /** Messages of a failed batch: they wait for their retry (or are set aside as failed). */
  readonly failed: number
}

/** The queue as the database has it now. */
export interface EmbeddingQueueStatus {
  /** Messages waiting, running or set aside. */
  readonly queued: number
  /** Of those, claimed by a worker right now. */
  readonly running: number
  /** Waiting for a retry after a failure. */
  readonly retrying: number
  /** Set aside after `maxAttempts` failures: `retryFailed()` queues them again. */
  readonly failed: number
  /** When the oldest waiting message was queued. */
  readonly oldestQueuedAt: Date | null
  /** The newest failure's class and message (clipped, without secrets). */
  readonly lastError: string | null
}

/** Counters of this process's worker since the layer opened. */
export interface EmbeddingStats {
  readonly batches: number
  readonly embeddedMessages: number
  readonly chunks: number
  readonly embedCalls: number
  readonly failedBatches: number
  readonly requeued: number
}

type Claim = { message_id: string; generation: number; attempts: number }
type Loaded = Pick<ChatMessage, 'id' | 'chatId' | 'parts' | 'content'> & { userId: string }

/**
 * Embedding on write (`embedOnWrite`): a trigger queues every finished user and assistant
 * message in Postgres as it is written; this worker claims due messages in batches, chunks
 * their text, embeds the chunks with the app's `embed` and replaces each message's vectors
 * in one transaction with taking it off the queue, so a message's vectors are stored once
 * however often a batch is retried or a worker dies. A failed batch waits with exponential
 * backoff; after `maxAttempts` its messages are set aside (`status().failed`).
 */
export class EmbeddingQueue {
  readonly #context: RepositoryContext
  readonly #options: ResolvedEmbedOnWrite | undefined
  readonly #log: ((fields: object, message: string) => void) | undefined
  #timer: NodeJS.Timeout | undefined
  #running: Promise<unknown> | undefined
  #stopped = false
  #stats = {
    batches: 0,
    embeddedMessages: 0,
    chunks: 0,
    embedCalls: 0,
    failedBatches: 0,
    requeued: 0,
  }

  /** @internal */
  constructor(
    context: RepositoryContext,
    options: ResolvedEmbedOnWrite | undefined,
    log?: (fields: object, message: string) => void,
  ) {
    this.#context = context
    this.#options = options
    this.#log = log
  }

  /** Whether `embedOnWrite` is configured on this layer. */
  get configured(): boolean {
    return this.#options !== undefined
  }

  /**
   * Switches the queue on in the database (the trigger queues nothing until a layer with
   * `embedOnWrite` has). A database not yet migrated is left alone; `migrate()` calls it
   * again. @internal
   */
  async switchOn(): Promise<void> {
    if (!this.#options) return
    try {
      await this.#context.executor.insert(embeddingQueueSwitch).values({}).onConflictDoNothing()
    } catch (error) {
      if (sqlStateOf(error) !== '42P01') throw error
    }
  }

  /** Starts the in-process worker (when `worker` is on). @internal */
  start(): void {
    if (!this.#options?.worker || this.#stopped) return
    this.#schedule(0)
  }

  /** Stops the worker and waits for its batch in flight. @internal */
  async stop(): Promise<void> {
    this.#stopped = true
    clearTimeout(this.#timer)
    await this.#running?.catch(() => {})
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return
    this.#timer = setTimeout(() => {
      this.#running = this.runOnce()
        .then((result) => this.#schedule(result.claimed > 0 ? 0 : this.#options!.pollIntervalMs))
        .catch((error: unknown) => {
          this.#log?.({ err: describeError(error) }, 'stratum: embedding batch failed')
          this.#schedule(this.#options!.pollIntervalMs)
        })
    }, delayMs)
    this.#timer.unref()
  }

  /**
   * Claims one batch of due messages and embeds it. A failure of `embed` (a throw, or a
   * result that is not one vector of the configured dimension per text) is recorded on the
   * messages for their retry and counted, not thrown.
   */
  async runOnce(): Promise<EmbeddingBatchResult> {
    const options = this.#required('embeddings.runOnce')
    const operation = 'embeddings.runOnce'
    const claims = await withDatabaseErrors(operation, () => this.#claim(options))
    if (claims.length === 0) return { claimed: 0, embedded: 0, chunks: 0, requeued: 0, failed: 0 }
    this.#stats.batches++
    const rows = await withDatabaseErrors(operation, () => this.#load(claims))
    const counter = await this.#context.tokens.counter()
    const chunked = rows.map((row) => ({
      row,
      chunks: chunkText(embeddableText(row), options.maxChunkTokens, (text) => counter.count(text)),
    }))
    const texts = chunked.flatMap(({ chunks }) => chunks)
    let vectors: number[][] = []
    try {
      if (texts.length > 0) {
        this.#stats.embedCalls++
        vectors = await options.embed(texts)
        if (!Array.isArray(vectors) || vectors.length !== texts.length) {
          throw new StratumError(
            'VALIDATION',
            `embedOnWrite.embed returned ${Array.isArray(vectors) ? `${vectors.length} vectors` : typeof vectors} for ${texts.length} texts; return one vector per text, in order`,
          )
        }
      }
      const stored = await withDatabaseErrors(operation, () =>
        this.#store(claims, chunked, vectors),
      )
      this.#stats.embeddedMessages += stored.embedded
      this.#stats.chunks += stored.chunks
      this.#stats.requeued += stored.requeued
      return { claimed: claims.length, ...stored, failed: 0 }
    } catch (error) {
      this.#stats.failedBatches++
      await withDatabaseErrors(operation, () => this.#failed(claims, error, options))
      this.#log?.(
        { err: describeError(error), messages: claims.length },
        'stratum: embedding batch failed; it will be retried',
      )
      return { claimed: claims.length, embedded: 0, chunks: 0, requeued: 0, failed: claims.length }
    }
  }

  /**
   * Runs batches until no message is due (those waiting for a retry later are left), and
   * returns what they did together. For tests, scripts and serverless functions.
   */
  async drain(): Promise<EmbeddingBatchResult> {
    const total = { claimed: 0, embedded: 0, chunks: 0, requeued: 0, failed: 0 }
    for (;;) {
      const batch = await this.runOnce()
      if (batch.claimed === 0) return total
      for (const key of Object.keys(total) as (keyof typeof total)[]) total[key] += batch[key]
      // A failed batch is due again only after its backoff: stop rather than spin on it.
      if (batch.failed > 0) return total
    }
  }

  /** The queue as the database has it now. */
  async status(): Promise<EmbeddingQueueStatus> {
    this.#context.assertUsable('embeddings.status')
    return withDatabaseErrors('embeddings.status', async () => {
      const [row] = (
        await this.#context.executor.execute<{
          queued: number
          running: number
          retrying: number
          failed: number
          oldest: string | Date | null
          last_error: string | null
        }>(sql`SELECT count(*)::int AS queued,
            count(*) FILTER (WHERE locked_until > now())::int AS running,
            count(*) FILTER (WHERE failed_at IS NULL AND attempts > 0 AND run_after > now())::int AS retrying,
            count(*) FILTER (WHERE failed_at IS NOT NULL)::int AS failed,
            min(created_at) AS oldest,
            (SELECT last_error FROM ${embeddingJobs} WHERE last_error IS NOT NULL
              ORDER BY run_after DESC LIMIT 1) AS last_error
          FROM ${embeddingJobs}`)
      ).rows
      return {
        queued: Number(row?.queued ?? 0),
        running: Number(row?.running ?? 0),
        retrying: Number(row?.retrying ?? 0),
        failed: Number(row?.failed ?? 0),
        oldestQueuedAt: row?.oldest ? new Date(row.oldest) : null,
        lastError: row?.last_error ?? null,
      }
    })
  }

  /** Queues the messages set aside after `maxAttempts` again; resolves to how many. */
  async retryFailed(): Promise<number> {
    this.#context.assertUsable('embeddings.retryFailed')
    return withDatabaseErrors('embeddings.retryFailed', async () => {
      const rows = await this.#context.executor.execute<{ message_id: string }>(
        sql`UPDATE ${embeddingJobs} SET failed_at = NULL, attempts = 0, run_after = now()
             WHERE failed_at IS NOT NULL RETURNING message_id`,
      )
      return rows.rows.length
    })
  }

  /**
   * Queues the finished messages that have no vectors (those written before the queue was
   * switched on); resolves to how many.
   */
  async backfill(): Promise<number> {
    this.#required('embeddings.backfill')
    return withDatabaseErrors('embeddings.backfill', async () => {
      const rows = await this.#context.executor.execute<{ message_id: string }>(
        sql`INSERT INTO ${embeddingJobs} (message_id)
            SELECT m.id FROM chat_messages m
             WHERE m.status <> 'streaming' AND m.role IN ('user', 'assistant')
               AND NOT EXISTS (SELECT 1 FROM ${chatVectors} v WHERE v.message_id = m.id)
            ON CONFLICT (message_id) DO NOTHING RETURNING message_id`,
      )
      return rows.rows.length
    })
  }

  /** This process's counters. */
  stats(): EmbeddingStats {
    return { ...this.#stats }
  }

  #required(operation: string): ResolvedEmbedOnWrite {
    this.#context.assertUsable(operation)
    if (!this.#options) {
      throw new StratumError(
        'CONFIG',
        `${operation} needs embedOnWrite: pass createDataLayer({ embedOnWrite: { embed } })`,
      )
    }
    return this.#options
  }

  async #claim(options: ResolvedEmbedOnWrite): Promise<Claim[]> {
    const result = await this.#context.executor.execute<Claim>(sql`
      UPDATE ${embeddingJobs} j
         SET locked_until = now() + ${options.leaseMs} * interval '1 millisecond',
             attempts = j.attempts + 1
       WHERE j.message_id IN (
         SELECT message_id FROM ${embeddingJobs}
          WHERE failed_at IS NULL AND run_after <= now()
            AND (locked_until IS NULL OR locked_until < now())
          ORDER BY run_after, message_id
          LIMIT ${options.batchSize}
          FOR UPDATE SKIP LOCKED)
      RETURNING j.message_id, j.generation, j.attempts`)
    return result.rows
  }

  async #load(claims: readonly Claim[]): Promise<Loaded[]> {
    const ids = claims.map((claim) => claim.message_id)
    const result = await this.#context.executor.execute<{
      id: string
      chat_id: string
      parts: ChatMessage['parts']
      content: string
      user_id: string
    }>(sql`SELECT m.id, m.chat_id, m.parts, m.content, c.user_id
             FROM chat_messages m JOIN chats c ON c.id = m.chat_id
            WHERE m.id IN (${sql.join(
              ids.map((id) => sql`${id}::uuid`),
              sql`, `,
            )})`)
    return result.rows.map((row) => ({
      id: row.id,
      chatId: row.chat_id,
      parts: typeof row.parts === 'string' ? JSON.parse(row.parts) : row.parts,
      content: row.content,
      userId: row.user_id,
    }))
  }

  /**
   * In one transaction: the messages still at the generation claimed get their vectors
   * replaced and leave the queue; the others (changed meanwhile) are released to run again.
   */
  async #store(
    claims: readonly Claim[],
    chunked: readonly { row: Loaded; chunks: string[] }[],
    vectors: readonly number[][],
  ): Promise<{ embedded: number; chunks: number; requeued: number }> {
    return this.#context.transaction(async (tx) => {
      const ids = claims.map((claim) => claim.message_id)
      const current = await tx.executor
        .select({ messageId: embeddingJobs.messageId, generation: embeddingJobs.generation })
        .from(embeddingJobs)
        .where(inArray(embeddingJobs.messageId, ids))
        .for('update')
      const claimed = new Map(claims.map((claim) => [claim.message_id, claim.generation]))
      const kept = new Set(
        current
          .filter((job) => claimed.get(job.messageId) === job.generation)
          .map((j) => j.messageId),
      )
      const moved = current.filter((job) => !kept.has(job.messageId)).map((j) => j.messageId)
      if (moved.length > 0) {
        await tx.executor
          .update(embeddingJobs)
          .set({ lockedUntil: null })
          .where(inArray(embeddingJobs.messageId, moved))
      }
      const records = []
      let next = 0
      for (const { row, chunks } of chunked) {
        const start = next
        next += chunks.length
        if (!kept.has(row.id)) continue
        for (const [index, content] of chunks.entries()) {
          records.push({
            userId: row.userId,
            chatId: row.chatId,
            messageId: row.id,
            chunkIndex: index,
            content,
            embedding: vectors[start + index]!,
          })
        }
      }
      const done = [...kept]
      if (done.length > 0) {
        await tx.executor.delete(chatVectors).where(inArray(chatVectors.messageId, done))
        if (records.length > 0) await new VectorStore(tx).upsert(records)
        await tx.executor.delete(embeddingJobs).where(inArray(embeddingJobs.messageId, done))
      }
      return { embedded: done.length, chunks: records.length, requeued: moved.length }
    })
  }

  async #failed(claims: readonly Claim[], error: unknown, options: ResolvedEmbedOnWrite) {
    const generations = sql.join(
      claims.map((claim) => sql`(${claim.message_id}::uuid, ${claim.generation}::int)`),
      sql`, `,
    )
    await this.#context.executor.execute(sql`
      UPDATE ${embeddingJobs} j
         SET locked_until = NULL,
             last_error = ${describeError(error)},
             run_after = now() + least(${options.retryBaseMs}::float8 * power(2, j.attempts - 1),
                                       ${options.retryMaxMs}::float8)
                               * (0.5 + random() / 2) * interval '1 millisecond',
             failed_at = CASE WHEN j.attempts >= ${options.maxAttempts} THEN now() END
        FROM (VALUES ${generations}) AS c(message_id, generation)
       WHERE j.message_id = c.message_id AND j.generation = c.generation`)
  }
}

/** An error as the queue records it: its class and message, clipped, without secrets. */
function describeError(error: unknown): string {
  const name = error instanceof Error ? error.name : typeof error
  const message = error instanceof Error ? error.message : ''
  return clip(redactSecrets(`${name}: ${message}`), 300)
}
