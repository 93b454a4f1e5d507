import { and, eq, inArray, sql } from 'drizzle-orm'
import { StratumError, ValidationError } from '../errors.js'
import { type ChatMessage, chatMessages, type NewChatMessage } from '../schema/chat-messages.js'
import { chats } from '../schema/chats.js'
import type { JsonObject } from '../schema/json-value.js'
import { type MessagePart, messagePartsSchema, messagePartsText } from '../schema/message-parts.js'
import {
  fromUIMessage,
  type StoredUIMessage,
  toUIMessage,
  type UIMessageLike,
} from '../schema/ui-messages.js'
import { chatEntityKey, chatsOfUserKey, messageEntityKey, messagesOfChatKey } from './cache-keys.js'
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
  /**
   * Stores a message and bumps its chat's `updated_at`, in one transaction. Give `content`
   * (a plain text message) or `parts`; with parts, `content` is their plain text
   * ({@link messagePartsText}) and may be left out.
   */
  async append(input: AppendMessageInput): Promise<ChatMessage> {
    const value = validate(
      this.definition.insertSchema,
      withContentOfParts(input),
      'chat_messages.append',
    ) as NewChatMessage
    checkContentOfParts(value, 'chat_messages.append')
    const [message] = await this.#store([value], 'append')
    return message!
  }

  /** Stores several messages (of one or more chats) in order, in one transaction. */
  async appendMany(inputs: readonly AppendMessageInput[]): Promise<ChatMessage[]> {
    const context = 'chat_messages.appendMany'
    const values = validateEach(
      this.definition.insertSchema,
      Array.isArray(inputs) ? inputs.map(withContentOfParts) : inputs,
      context,
    ) as NewChatMessage[]
    for (const value of values) checkContentOfParts(value, context)
    return this.#store(values, 'appendMany')
  }

  /**
   * Saves messages of the AI SDK (`UIMessage`s) to a chat, in order, by their ids: a message
   * not yet stored is appended; one stored before (a retried request, `onFinish` called
   * again, a tool result added) gets its parts and metadata replaced. Saving the same
   * messages twice changes nothing. A stored message cannot change its role (`CONFLICT`).
   * Metadata, when given, must be a JSON object.
   */
  async saveUIMessages(chatId: string, messages: readonly UIMessageLike[]): Promise<ChatMessage[]> {
    const context = 'chat_messages.saveUIMessages'
    if (!Array.isArray(messages)) {
      throw new ValidationError(context, [{ path: 'messages', message: 'must be an array' }])
    }
    const values = messages.map((message, index) => {
      const stored = inBatch(context, index, () => fromUIMessage(message, context))
      const metadata = stored.metadata ?? {}
      if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
        throw new ValidationError(context, [
          { path: `[${index}].metadata`, message: 'must be a JSON object to be stored' },
        ])
      }
      return {
        chatId,
        clientId: stored.id,
        role: stored.role,
        parts: stored.parts,
        content: messagePartsText(stored.parts),
        metadata: metadata as JsonObject,
      }
    })
    const seen = new Map<string, number>()
    values.forEach((value, index) => {
      if (seen.has(value.clientId)) {
        throw new ValidationError(context, [
          {
            path: `[${index}].id`,
            message: `is the id of message [${seen.get(value.clientId)}] too`,
          },
        ])
      }
      seen.set(value.clientId, index)
    })
    const valid = validateEach(this.definition.insertSchema, values, context) as NewChatMessage[]
    return this.#store(valid, 'saveUIMessages', true)
  }

  /**
   * The chat's messages in the AI SDK's `UIMessage` shape, oldest first: what
   * {@link saveUIMessages} stored, ids included; a message appended as plain `content`
   * reads as one text part.
   */
  async loadUIMessages(chatId: string): Promise<ReturnType<typeof toUIMessage>[]> {
    const rows: ChatMessage[] = []
    let cursor: string | undefined
    do {
      const page = await this.findPage({
        where: { chatId },
        orderBy: { seq: 'asc', createdAt: 'asc' },
        limit: 1000,
        ...(cursor ? { cursor } : {}),
      })
      rows.push(...page.items)
      cursor = page.nextCursor ?? undefined
    } while (cursor)
    return rows.map((row) => toUIMessage(uiMessageOf(row)))
  }

  async #store(
    values: NewChatMessage[],
    operation: string,
    byClientId = false,
  ): Promise<ChatMessage[]> {
    if (values.length === 0) return []
    const chatIds = [...new Set(values.map((v) => v.chatId))].sort()
    return this.run(operation, () =>
      this.context.transaction(async (tx: RepositoryContext) => {
        // Locking the chats first (in id order, so that two appends to several chats cannot
        // deadlock) queues concurrent appends to one chat, so sequence numbers follow the
        // order appends commit; a missing chat is NOT_FOUND before anything is written.
        const locked = await tx.executor
          .select({ id: chats.id, userId: chats.userId, lastSeq: chats.lastMessageSeq })
          .from(chats)
          .where(inArray(chats.id, chatIds))
          .orderBy(chats.id)
          .for('update')
        if (locked.length !== chatIds.length) {
          const found = new Set(locked.map((c) => c.id))
          throw this.notFoundChat(chatIds.find((id) => !found.has(id))!)
        }
        const lastSeq = new Map<string, number>()
        const renumbered: string[] = []
        for (const chat of locked) {
          let last = chat.lastSeq
          if (last === 0) {
            const ids = await numberOlderMessages(tx, chat.id)
            renumbered.push(...ids)
            last = ids.length
          }
          lastSeq.set(chat.id, last)
        }
        const stored = byClientId ? await storedClientIds(tx, chatIds, values) : new Set<string>()
        values = values.map((value) => {
          if (stored.has(`${value.chatId}:${value.clientId}`)) return value
          const seq = lastSeq.get(value.chatId)! + 1
          lastSeq.set(value.chatId, seq)
          return { ...value, seq }
        })
        const out: ChatMessage[] = []
        for (let i = 0; i < values.length; i += 1000) {
          const insert = tx.executor.insert(chatMessages).values(values.slice(i, i + 1000))
          const rows = byClientId
            ? await insert
                .onConflictDoUpdate({
                  target: [chatMessages.chatId, chatMessages.clientId],
                  set: {
                    parts: sql`excluded.parts`,
                    content: sql`excluded.content`,
                    metadata: sql`excluded.metadata`,
                  },
                  setWhere: sql`${chatMessages.role} = excluded.role`,
                })
                .returning()
            : await insert.returning()
          if (rows.length !== Math.min(1000, values.length - i)) {
            throw new StratumError(
              'CONFLICT',
              'a message with this id is stored with another role; a message keeps its role',
              { details: { table: 'chat_messages' } },
            )
          }
          out.push(...rows)
        }
        for (const [id, last] of lastSeq) {
          await tx.executor
            .update(chats)
            .set({ updatedAt: sql`now()`, lastMessageSeq: last })
            .where(eq(chats.id, id))
        }
        await tx.afterCommit([
          ...chatIds.map(chatEntityKey),
          ...new Set(locked.map((chat) => chatsOfUserKey(chat.userId))),
          ...out.flatMap((message) => this.cacheKeysOf(message)),
          ...renumbered.map(messageEntityKey),
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
        orderBy: { seq: order, createdAt: order },
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

/** What `append` accepts: a new message with `content`, or with `parts` (content derived). */
export type AppendMessageInput = Omit<NewChatMessage, 'content'> & {
  content?: string
  parts?: MessagePart[] | null
}

/** `input` with its content derived from valid parts when it was left out. */
function withContentOfParts(input: unknown): unknown {
  if (typeof input !== 'object' || input === null) return input
  const { parts, content } = input as { parts?: unknown; content?: unknown }
  if (parts === undefined || parts === null || content !== undefined) return input
  const valid = messagePartsSchema.safeParse(parts)
  if (!valid.success) return input // reported by the insert schema, with the rest
  return { ...input, content: messagePartsText(valid.data) }
}

/** A message with parts must have their plain text as its content: stored as given, or refused. */
function checkContentOfParts(value: NewChatMessage, context: string): void {
  if (value.parts && value.content !== messagePartsText(value.parts)) {
    throw new ValidationError(context, [
      {
        path: 'content',
        message: 'must be the plain text of parts (leave it out to have it derived)',
      },
    ])
  }
}

/**
 * Numbers the messages of a chat written before sequence numbers (seq null), in the order
 * they were listed by (created_at, id); returns their ids. Runs under the chat's lock, once
 * per chat: afterwards the chat's last sequence number is theirs.
 */
async function numberOlderMessages(tx: RepositoryContext, chatId: string): Promise<string[]> {
  const rows = await tx.executor.execute<{ id: string }>(sql`
    UPDATE chat_messages AS m SET seq = r.n
    FROM (SELECT id, row_number() OVER (ORDER BY created_at, id) AS n
          FROM chat_messages WHERE chat_id = ${chatId}) AS r
    WHERE m.id = r.id AND m.seq IS NULL
    RETURNING m.id`)
  return rows.rows.map((row) => row.id)
}

/** Which of `values`' client ids are stored already, as `chatId:clientId`. */
async function storedClientIds(
  tx: RepositoryContext,
  chatIds: string[],
  values: readonly NewChatMessage[],
): Promise<Set<string>> {
  const clientIds = values.flatMap((v) => (v.clientId ? [v.clientId] : []))
  if (clientIds.length === 0) return new Set()
  const rows = await tx.executor
    .select({ chatId: chatMessages.chatId, clientId: chatMessages.clientId })
    .from(chatMessages)
    .where(and(inArray(chatMessages.chatId, chatIds), inArray(chatMessages.clientId, clientIds)))
  return new Set(rows.map((row) => `${row.chatId}:${row.clientId}`))
}

/** `fn()`, with the paths of its `VALIDATION` issues under `[index]`. */
function inBatch<T>(context: string, index: number, fn: () => T): T {
  try {
    return fn()
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error
    throw new ValidationError(
      context,
      error.issues.map((issue) => ({
        ...issue,
        path: `[${index}]${issue.path && !issue.path.startsWith('[') ? '.' : ''}${issue.path}`,
      })),
    )
  }
}

/** A stored row as a UI message: its client id when it has one, its parts or its content. */
function uiMessageOf(row: ChatMessage): StoredUIMessage {
  if (row.role === 'tool') {
    throw new StratumError(
      'UNSUPPORTED',
      `message ${row.id} has the role 'tool', which the AI SDK's UI messages do not have`,
      { details: { table: 'chat_messages' } },
    )
  }
  const parts: MessagePart[] = row.parts ?? [{ type: 'text', text: row.content }]
  return {
    id: row.clientId ?? row.id,
    role: row.role,
    ...(Object.keys(row.metadata).length > 0 ? { metadata: row.metadata as JsonObject } : {}),
    parts,
  }
}
