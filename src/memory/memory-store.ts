import {
  and,
  asc,
  desc,
  eq,
  getTableColumns,
  gt,
  isNotNull,
  isNull,
  lte,
  or,
  type SQL,
  sql,
} from 'drizzle-orm'
import { withDatabaseErrors } from '../db/map-database-error.js'
import type { EmbedTexts } from '../embedding/embed-on-write-options.js'
import { StratumError, ValidationError } from '../errors.js'
import { memoriesOfUserKey } from '../repositories/cache-keys.js'
import type { RepositoryContext } from '../repositories/repository-context.js'
import { validate, validateScoped } from '../repositories/validate.js'
import { type UserMemory, userMemories } from '../schema/user-memories.js'
import { users } from '../schema/users.js'
import { assertUuid } from '../util/is-uuid.js'
import {
  forgetSchema,
  listMemoriesSchema,
  type MemorySearchOptions,
  memoryKeySchema,
  memorySearchSchema,
  type RememberInput,
  rememberSchema,
} from './memory-options.js'

/** A remembered fact, without its embedding. */
export type Memory = Omit<UserMemory, 'embedding'>

/** A fact found by `memory.search`, with how well it matched (higher is better). */
export type MemoryHit = Memory & { readonly score: number }

/** How far ahead of the database's clock a given time may be (the app's clock may run fast). */
const CLOCK_SKEW_MS = 60_000

/** How long a user's current facts stay cached (a write invalidates them at once). */
const MEMORY_LIST_TTL_MS = 300_000

const { embedding: _embedding, ...memoryColumns } = getTableColumns(userMemories)

/**
 * Long-term memory: facts and preferences of a user across chats, each valid from
 * `validFrom` until `invalidAt`. See {@link MemoryStore.remember}.
 */
export class MemoryStore {
  readonly #context: RepositoryContext
  readonly #embed: EmbedTexts | undefined

  /** @internal */
  constructor(context: RepositoryContext, embed?: EmbedTexts) {
    this.#context = context
    this.#embed = embed
  }

  /**
   * Remembers a fact. Under a `key` that has a current fact, the new one supersedes it: the
   * old one gets `invalidAt` (the new one's `validFrom`) and `supersededBy`, and stays in
   * `history`; the same content again changes nothing and returns the current fact. Its
   * embedding is the one given, else made by `embedOnWrite.embed` when configured, else none
   * (it is then found by words and key only). `validFrom` may not be in the future or before
   * the fact it supersedes. A missing user is NOT_FOUND.
   */
  async remember(input: RememberInput): Promise<Memory> {
    const operation = 'memory.remember'
    const context = this.#context
    const wanted = validateScoped(
      this.#context,
      rememberSchema(context.dimensions),
      input,
      operation,
    )
    if (wanted.sourceMessageId !== undefined)
      assertUuid(wanted.sourceMessageId, operation, 'sourceMessageId', 'the id of a message')
    const embedding = wanted.embedding ?? (await this.#embedded(wanted.content, operation))
    const memory = await withDatabaseErrors(operation, () =>
      context.transaction(async (tx) => {
        const [user] = await tx.executor
          .select({ id: users.id, now: sql<Date>`now()`.mapWith(userMemories.createdAt) })
          .from(users)
          .where(eq(users.id, wanted.userId))
        if (!user) {
          throw new StratumError('NOT_FOUND', `user ${wanted.userId} does not exist`, {
            details: { table: 'users' },
          })
        }
        if (wanted.validFrom && wanted.validFrom.getTime() > user.now.getTime() + CLOCK_SKEW_MS) {
          throw invalidTime(operation, 'validFrom', 'in the future')
        }
        let validFrom = wanted.validFrom ?? user.now
        let current: Memory | undefined
        if (wanted.key !== undefined) {
          // One writer per key and user at a time: the current fact is read, then replaced.
          // Unless given, validFrom is the time the lock was taken: a writer that waited for
          // another's fact must not date its own before it (now() is when its transaction began).
          await tx.executor.execute(
            sql`SELECT pg_advisory_xact_lock(hashtextextended(${`stratum:memory:${wanted.userId}:${wanted.key}`}, 0))`,
          )
          if (!wanted.validFrom) {
            const [locked] = await tx.executor
              .select({ at: sql<Date>`clock_timestamp()`.mapWith(userMemories.createdAt) })
              .from(sql`(SELECT 1) AS one`)
            validFrom = locked!.at
          }
          ;[current] = await tx.executor
            .select(memoryColumns)
            .from(userMemories)
            .where(
              and(
                eq(userMemories.userId, wanted.userId),
                eq(userMemories.key, wanted.key),
                isNull(userMemories.invalidAt),
              ),
            )
          if (current && current.content === wanted.content) return current
          if (current && validFrom < current.validFrom) {
            throw invalidTime(operation, 'validFrom', 'before the fact it supersedes was valid')
          }
          if (current) {
            await tx.executor
              .update(userMemories)
              .set({ invalidAt: validFrom })
              .where(eq(userMemories.id, current.id))
          }
        }
        const [row] = await tx.executor
          .insert(userMemories)
          .values({
            userId: wanted.userId,
            key: wanted.key ?? null,
            content: wanted.content,
            embedding,
            metadata: wanted.metadata ?? {},
            validFrom,
            sourceMessageId: wanted.sourceMessageId ?? null,
          })
          .returning(memoryColumns)
        if (current) {
          await tx.executor
            .update(userMemories)
            .set({ supersededBy: row!.id })
            .where(eq(userMemories.id, current.id))
        }
        return row!
      }),
    )
    await context.afterCommit([memoriesOfUserKey(wanted.userId)])
    return memory
  }

  /**
   * Ends a fact (at `at`, default now) without deleting it: it leaves the current facts and
   * stays in `history`. False when the user has no such current fact.
   */
  async forget(options: { userId: string; id: string; at?: Date }): Promise<boolean> {
    const operation = 'memory.forget'
    const context = this.#context
    const wanted = validateScoped(this.#context, forgetSchema, options, operation)
    assertUuid(wanted.id, operation, 'id', 'the id of a memory')
    if (wanted.at && wanted.at.getTime() > Date.now() + CLOCK_SKEW_MS) {
      throw invalidTime(operation, 'at', 'in the future')
    }
    const ended = await withDatabaseErrors(operation, () =>
      context.executor
        .update(userMemories)
        .set({ invalidAt: wanted.at ?? sql`now()` })
        .where(
          and(
            eq(userMemories.id, wanted.id),
            eq(userMemories.userId, wanted.userId),
            isNull(userMemories.invalidAt),
            ...(wanted.at ? [lte(userMemories.validFrom, wanted.at)] : []),
          ),
        )
        .returning({ id: userMemories.id }),
    )
    if (wanted.at && ended.length === 0) {
      const [fact] = await withDatabaseErrors(operation, () =>
        context.executor
          .select({ validFrom: userMemories.validFrom })
          .from(userMemories)
          .where(
            and(
              eq(userMemories.id, wanted.id),
              eq(userMemories.userId, wanted.userId),
              isNull(userMemories.invalidAt),
            ),
          ),
      )
      if (fact) throw invalidTime(operation, 'at', 'before the fact was valid')
    }
    if (ended.length > 0) await context.afterCommit([memoriesOfUserKey(wanted.userId)])
    return ended.length > 0
  }

  /** The user's facts valid at `at` (default: the current ones, cached), oldest first. */
  async list(options: { userId: string; at?: Date }): Promise<Memory[]> {
    const operation = 'memory.list'
    const context = this.#context
    const wanted = validateScoped(this.#context, listMemoriesSchema, options, operation)
    const load = () =>
      withDatabaseErrors(operation, () =>
        context.executor
          .select(memoryColumns)
          .from(userMemories)
          .where(and(eq(userMemories.userId, wanted.userId), validAt(wanted.at)))
          .orderBy(asc(userMemories.validFrom), asc(userMemories.id)),
      )
    if (wanted.at !== undefined || !context.cache) return load()
    return context.cache.readThrough(memoriesOfUserKey(wanted.userId), load, {
      ttlMs: MEMORY_LIST_TTL_MS,
    })
  }

  /** The user's current fact under `key`, or null. */
  async current(options: { userId: string; key: string }): Promise<Memory | null> {
    const wanted = validate(memoryKeySchema, options, 'memory.current')
    const facts = await this.list({ userId: wanted.userId })
    return facts.find((fact) => fact.key === wanted.key) ?? null
  }

  /** Every fact the user ever had under `key`, oldest first, superseded ones included. */
  async history(options: { userId: string; key: string }): Promise<Memory[]> {
    const operation = 'memory.history'
    const context = this.#context
    const wanted = validateScoped(this.#context, memoryKeySchema, options, operation)
    return withDatabaseErrors(operation, () =>
      context.executor
        .select(memoryColumns)
        .from(userMemories)
        .where(and(eq(userMemories.userId, wanted.userId), eq(userMemories.key, wanted.key)))
        .orderBy(asc(userMemories.validFrom), asc(userMemories.id)),
    )
  }

  /**
   * The user's facts (current, or valid `at`) that best match: by meaning with `embedding`
   * (or `text` embedded by `embedOnWrite.embed`; score: cosine similarity), else by words
   * (`text`, Postgres full-text search; score: its rank), else the newest; `key` narrows.
   * Exact over the user's facts, never another user's.
   */
  async search(options: MemorySearchOptions): Promise<MemoryHit[]> {
    const operation = 'memory.search'
    const context = this.#context
    const wanted = validateScoped(
      this.#context,
      memorySearchSchema(context.dimensions),
      options,
      operation,
    )
    const embedding =
      wanted.embedding ??
      (wanted.text !== undefined ? await this.#embedded(wanted.text, operation) : undefined)
    const where: SQL[] = [eq(userMemories.userId, wanted.userId), validAt(wanted.at)]
    if (wanted.key !== undefined) where.push(eq(userMemories.key, wanted.key))
    let score: SQL<number>
    let order: SQL[]
    if (embedding) {
      const distance = sql`${userMemories.embedding} <=> ${`[${embedding.join(',')}]`}::vector`
      where.push(isNotNull(userMemories.embedding))
      score = sql<number>`1 - (${distance})`.mapWith(Number)
      order = [sql`${distance}`, asc(userMemories.id)]
    } else if (wanted.text !== undefined) {
      const document = sql`to_tsvector('simple', ${userMemories.content})`
      const query = sql`websearch_to_tsquery('simple', ${wanted.text})`
      where.push(sql`${document} @@ ${query}`)
      score = sql<number>`ts_rank(${document}, ${query})`.mapWith(Number)
      order = [desc(score), asc(userMemories.id)]
    } else {
      score = sql<number>`1`.mapWith(Number)
      order = [desc(userMemories.validFrom), asc(userMemories.id)]
    }
    return withDatabaseErrors(operation, () =>
      context.executor
        .select({ ...memoryColumns, score })
        .from(userMemories)
        .where(and(...where))
        .orderBy(...order)
        .limit(wanted.limit),
    )
  }

  async #embedded(text: string, operation: string): Promise<number[] | undefined> {
    if (!this.#embed) return undefined
    const [vector] = await this.#embed([text])
    if (!Array.isArray(vector) || vector.length !== this.#context.dimensions) {
      throw new StratumError(
        'VALIDATION',
        `${operation}: embedOnWrite.embed returned no vector of ${this.#context.dimensions} numbers; return one per text`,
      )
    }
    return vector
  }
}

/** Valid at `at`, or current (not ended) without it. */
function validAt(at: Date | undefined): SQL {
  if (at === undefined) return isNull(userMemories.invalidAt)
  return and(
    lte(userMemories.validFrom, at),
    or(isNull(userMemories.invalidAt), gt(userMemories.invalidAt, at)),
  )!
}

function invalidTime(operation: string, path: string, what: string): ValidationError {
  return new ValidationError(operation, [{ path, message: `must not be ${what}` }])
}
