import { eq } from 'drizzle-orm'
import type { Executor } from '../db/connection.js'
import { chatMessages } from '../schema/chat-messages.js'
import type { Chat, chats } from '../schema/chats.js'
import { chatsOfUserKey, messageEntityKey, messagesOfChatKey } from './cache-keys.js'
import { Repository } from './repository.js'
import type { Page, ReadOptions } from './repository-types.js'

/** Paging arguments of the list methods. */
export interface ListOptions extends ReadOptions {
  /** Page size (default 50, at most 1000). */
  limit?: number
  /** `nextCursor` of the previous page. */
  cursor?: string | null | undefined
}

/**
 * Chats, listed per user newest first.
 *
 * @example
 * ```ts
 * const { items, nextCursor } = await data.chats.listByUser(user.id, { limit: 20 })
 * ```
 */
export class ChatsRepository extends Repository<typeof chats> {
  /** The user's chats, most recently updated first, one page at a time. */
  async listByUser(userId: string, options: ListOptions = {}): Promise<Page<Chat>> {
    if (options.consistency !== undefined)
      return this.withConsistency(options, 'listByUser', () =>
        this.listByUser(userId, { ...options, consistency: undefined }),
      )
    const read = () =>
      this.findPage({
        where: { userId },
        orderBy: { updatedAt: 'desc' },
        limit: options.limit,
        cursor: options.cursor,
      })
    // The first page is cached under the user's chat-list generation; later pages are not.
    if (options.cursor) return read()
    return this.readGroup(
      'listByUser',
      chatsOfUserKey(userId),
      `first:${options.limit ?? 'default'}`,
      read,
      this.pageCodec,
    )
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
