import { and, eq, inArray, isNotNull, type SQL, sql } from 'drizzle-orm'
import { z } from 'zod'
import type { Executor } from '../db/connection.js'
import { chatMessages } from '../schema/chat-messages.js'
import { type Chat, chats } from '../schema/chats.js'
import { chatsOfUserKey, messageEntityKey, messagesOfChatKey } from './cache-keys.js'
import type { Where } from './filters.js'
import { Repository } from './repository.js'
import type { Page, ReadOptions } from './repository-types.js'
import { validate } from './validate.js'

/** Paging arguments of the list methods. */
export interface ListOptions extends ReadOptions {
  /** Page size (default 50, at most 1000). */
  limit?: number
  /** `nextCursor` of the previous page. */
  cursor?: string | null | undefined
}

/** Which of a user's chats `listByUser` shows. */
export interface ChatListOptions extends ListOptions {
  /**
   * `active` (default): neither archived nor deleted; `archived`: archived, not deleted;
   * `deleted`: deleted and not purged yet (a trash view); `all`: every chat.
   */
  show?: 'active' | 'archived' | 'deleted' | 'all'
  /** Only pinned chats (`true`) or only the others (`false`); both when left out. */
  pinned?: boolean
}

/** How long a deleted chat is kept before `purgeDeleted` removes it (30 days). */
export const DEFAULT_CHAT_RETENTION_MS = 30 * 24 * 60 * 60 * 1000

const listSchema = z
  .object({
    limit: z.unknown().optional(),
    cursor: z.unknown().optional(),
    consistency: z.unknown().optional(),
    show: z.enum(['active', 'archived', 'deleted', 'all']).optional(),
    pinned: z.boolean().optional(),
  })
  .strict()

const purgeSchema = z
  .object({
    olderThanMs: z
      .number()
      .int()
      .min(0)
      .max(10 * 365 * 24 * 60 * 60 * 1000)
      .optional(),
  })
  .strict()

/**
 * Chats, listed per user newest first.
 *
 * @example
 * ```ts
 * const { items, nextCursor } = await data.chats.listByUser(user.id, { limit: 20 })
 * ```
 */
export class ChatsRepository extends Repository<typeof chats> {
  /**
   * The user's chats, most recently updated first, one page at a time: by default the
   * active ones (neither archived nor deleted); see {@link ChatListOptions}.
   */
  async listByUser(userId: string, options: ChatListOptions = {}): Promise<Page<Chat>> {
    const { show = 'active', pinned } = validate(listSchema, options, 'chats.listByUser')
    if (options.consistency !== undefined)
      return this.withConsistency(options, 'listByUser', () =>
        this.listByUser(userId, { ...options, consistency: undefined }),
      )
    const where: Where<Chat> = { userId, ...SHOWN[show] }
    if (pinned !== undefined) where.pinnedAt = { isNull: !pinned }
    const read = () =>
      this.findPage({
        where,
        orderBy: { updatedAt: 'desc' },
        limit: options.limit,
        cursor: options.cursor,
      })
    // The first page is cached under the user's chat-list generation; later pages are not.
    if (options.cursor) return read()
    return this.readGroup(
      'listByUser',
      chatsOfUserKey(userId),
      `first:${show}:${pinned ?? 'any'}:${options.limit ?? 'default'}`,
      read,
      this.pageCodec,
    )
  }

  /** Pins the chat (now); returns it, or throws `NOT_FOUND`. Its place by update time is kept. */
  pin(id: string): Promise<Chat> {
    return this.#mark(id, 'pin', { pinnedAt: sql`now()` })
  }

  /** Unpins the chat; returns it, or throws `NOT_FOUND`. */
  unpin(id: string): Promise<Chat> {
    return this.#mark(id, 'unpin', { pinnedAt: null })
  }

  /** Archives the chat: out of the default list, kept whole; returns it, or throws `NOT_FOUND`. */
  archive(id: string): Promise<Chat> {
    return this.#mark(id, 'archive', { archivedAt: sql`now()` })
  }

  /** Brings an archived chat back to the default list; returns it, or throws `NOT_FOUND`. */
  unarchive(id: string): Promise<Chat> {
    return this.#mark(id, 'unarchive', { archivedAt: null })
  }

  /**
   * Deletes the chat softly: hidden from the default list, refusing new messages
   * (`CONFLICT`), restorable until {@link purgeDeleted} removes it for good.
   */
  softDelete(id: string): Promise<Chat> {
    return this.#mark(id, 'softDelete', { deletedAt: sql`coalesce(${chats.deletedAt}, now())` })
  }

  /** Undoes {@link softDelete}; returns the chat, or throws `NOT_FOUND` (also once purged). */
  restore(id: string): Promise<Chat> {
    return this.#mark(id, 'restore', { deletedAt: null })
  }

  /**
   * Removes for good the chats deleted softly more than `olderThanMs` ago (default 30 days),
   * with their messages and vectors, a thousand at a time; returns how many. Run it on a
   * schedule.
   */
  async purgeDeleted(options: { olderThanMs?: number } = {}): Promise<number> {
    const { olderThanMs = DEFAULT_CHAT_RETENTION_MS } = validate(
      purgeSchema,
      options,
      'chats.purgeDeleted',
    )
    let purged = 0
    for (;;) {
      const batch = await this.run('purgeDeleted', () =>
        this.context.transaction(async (tx) => {
          const due = await tx.executor
            .select({ id: chats.id })
            .from(chats)
            .where(
              and(
                isNotNull(chats.deletedAt),
                sql`${chats.deletedAt} < now() - make_interval(secs => ${olderThanMs / 1000})`,
              ),
            )
            .limit(1000)
            .for('update', { skipLocked: true })
          const ids = due.map((row) => row.id)
          if (ids.length === 0) return 0
          const keys: string[] = []
          for (const id of ids) keys.push(...(await this.cascadeKeys(tx.executor, id)))
          keys.push(...(await this.context.cascades.keysOnDelete(tx.executor, 'chats', ids)))
          const rows = await tx.executor.delete(chats).where(inArray(chats.id, ids)).returning()
          await tx.afterCommit([...keys, ...rows.flatMap((row) => this.cacheKeysOf(row))])
          await tx.drainBlobDeletions()
          return rows.length
        }),
      )
      purged += batch
      if (batch < 1000) return purged
    }
  }

  async #mark(id: string, operation: string, set: Record<string, SQL | null>): Promise<Chat> {
    const bad = this.badId(id, operation)
    if (bad) throw bad
    return this.run(operation, async (executor) => {
      // Keeping updated_at: pinning or archiving is not activity in the chat.
      const [row] = await executor
        .update(chats)
        .set({ ...set, updatedAt: sql`${chats.updatedAt}` })
        .where(eq(chats.id, id))
        .returning()
      if (!row) throw this.notFound(id)
      await this.written([row])
      return row
    })
  }

  protected override cacheKeysOf(row: Chat): string[] {
    return [...super.cacheKeysOf(row), chatsOfUserKey(row.userId)]
  }

  protected override async cascadeKeys(executor: Executor, id: string): Promise<string[]> {
    const messages = await executor
      .select({ id: chatMessages.id })
      .from(chatMessages)
      .where(eq(chatMessages.chatId, id))
    return [messagesOfChatKey(id), ...messages.map((m) => messageEntityKey(m.id))]
  }

  /** Changes the chat's title; returns the updated chat or throws `NOT_FOUND`. */
  async rename(id: string, title: string | null): Promise<Chat> {
    return this.update(id, { title })
  }
}

const SHOWN: Record<NonNullable<ChatListOptions['show']>, Where<Chat>> = {
  active: { archivedAt: null, deletedAt: null },
  archived: { archivedAt: { isNull: false }, deletedAt: null },
  deleted: { deletedAt: { isNull: false } },
  all: {},
}
