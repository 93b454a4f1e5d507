import { inArray, sql } from 'drizzle-orm'
import { StratumError } from '../errors.js'
import { type ChatMessage, chatMessages, type NewChatMessage } from '../schema/chat-messages.js'
import { chats } from '../schema/chats.js'
import { chatEntityKey, chatsOfUserKey, messagesOfChatKey } from './cache-keys.js'
import type { ListOptions } from './chats-repository.js'
import { Repository } from './repository.js'
import type { RepositoryContext } from './repository-context.js'
import type { Page } from './repository-types.js'
import { validate, validateEach } from './validate.js'

/** Paging arguments of `listByChat`. */
export interface MessageListOptions extends ListOptions {
  /** `asc` (default) lists oldest first, `desc` newest first. */
  order?: 'asc' | 'desc'
}

/**
 * Messages of chats. Appending bumps the chat's `updated_at` in the same transaction.
 *
 * @example
 * ```ts
 * await data.messages.append({ chatId: chat.id, role: 'user', content: 'Hello' })
 * const { items } = await data.messages.listByChat(chat.id)
 * ```
 */
export class MessagesRepository extends Repository<typeof chatMessages> {
  /** Stores a message and bumps its chat's `updated_at`, in one transaction. */
  async append(input: NewChatMessage): Promise<ChatMessage> {
    const value = validate(
      this.definition.insertSchema,
      input,
      'chat_messages.append',
    ) as NewChatMessage
    const [message] = await this.#store([value], 'append')
    return message!
  }

  /** Stores several messages (of one or more chats) in order, in one transaction. */
  async appendMany(inputs: readonly NewChatMessage[]): Promise<ChatMessage[]> {
    const values = validateEach(
      this.definition.insertSchema,
      inputs,
      'chat_messages.appendMany',
    ) as NewChatMessage[]
    return this.#store(values, 'appendMany')
  }

  async #store(values: NewChatMessage[], operation: string): Promise<ChatMessage[]> {
    if (values.length === 0) return []
    const chatIds = [...new Set(values.map((v) => v.chatId))]
    return this.run(operation, () =>
      this.context.transaction(async (tx: RepositoryContext) => {
        // Updating the chats first locks them, so concurrent appends to one chat queue up,
        // and a missing chat is reported as NOT_FOUND before anything is written.
        const bumped = await tx.executor
          .update(chats)
          .set({ updatedAt: sql`now()` })
          .where(inArray(chats.id, chatIds))
          .returning({ id: chats.id, userId: chats.userId })
        if (bumped.length !== chatIds.length) {
          const found = new Set(bumped.map((b) => b.id))
          throw this.notFoundChat(chatIds.find((id) => !found.has(id))!)
        }
        const out: ChatMessage[] = []
        for (let i = 0; i < values.length; i += 1000) {
          out.push(
            ...(await tx.executor
              .insert(chatMessages)
              .values(values.slice(i, i + 1000))
              .returning()),
          )
        }
        await tx.afterCommit([
          ...chatIds.map(chatEntityKey),
          ...new Set(bumped.map((chat) => chatsOfUserKey(chat.userId))),
          ...out.flatMap((message) => this.cacheKeysOf(message)),
        ])
        return out
      }),
    )
  }

  /** The chat's messages, oldest first (or newest first with `order: 'desc'`), one page at a time. */
  async listByChat(chatId: string, options: MessageListOptions = {}): Promise<Page<ChatMessage>> {
    if (options.consistency !== undefined)
      return this.withConsistency(options, 'listByChat', () =>
        this.listByChat(chatId, { ...options, consistency: undefined }),
      )
    const order = options.order ?? 'asc'
    const read = () =>
      this.findPage({
        where: { chatId },
        orderBy: { createdAt: order },
        limit: options.limit,
        cursor: options.cursor,
      })
    // The first page is cached under the chat's message-list generation.
    if (options.cursor) return read()
    return this.readGroup(
      'listByChat',
      messagesOfChatKey(chatId),
      `first:${order}:${options.limit ?? 'default'}`,
      read,
      this.pageCodec,
    )
  }

  protected override cacheKeysOf(row: ChatMessage): string[] {
    return [...super.cacheKeysOf(row), messagesOfChatKey(row.chatId)]
  }

  private notFoundChat(chatId: string): StratumError {
    return new StratumError('NOT_FOUND', `chat ${chatId} does not exist`, {
      details: { table: 'chats' },
    })
  }
}
