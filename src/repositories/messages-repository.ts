import { and, eq, inArray, type SQL, sql } from 'drizzle-orm'
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core'
import { v7 as uuidv7 } from 'uuid'
import type { Executor } from '../db/connection.js'
import { StratumError, ValidationError } from '../errors.js'
import { type ChatMessage, chatMessages, type NewChatMessage } from '../schema/chat-messages.js'
import { chats } from '../schema/chats.js'
import type { JsonObject } from '../schema/json-value.js'
import { type MessagePart, messagePartsSchema, messagePartsText } from '../schema/message-parts.js'
import { fromUIMessage, toUIMessage, type UIMessageLike } from '../schema/ui-messages.js'
import { assertUuid, isUuid } from '../util/is-uuid.js'
import { chatEntityKey, messagesOfChatKey } from './cache-keys.js'
import { messageEvent } from './chat-events.js'
import type { ListOptions } from './chats-repository.js'
import { decodeCursor } from './keyset.js'
import { selectPage } from './list-queries.js'
import {
  activeLeafOfChatRow,
  branchesOnPath,
  type MessageBranches,
  newestInSubtree,
  onActivePathPage,
  resolveMessageId,
} from './message-tree.js'
import {
  DEFAULT_SWEEP_IDLE_MS,
  type StartReplyOptions,
  startReplySchema,
  sweepSchema,
} from './reply-options.js'
import { REPLY_STREAM_DEFAULTS, ReplyStream } from './reply-stream.js'
import { Repository } from './repository.js'
import { DEFAULT_PAGE_SIZE, type Page } from './repository-types.js'
import {
  notFoundChat,
  type StoredValue,
  type StoreOptions,
  storeMessages,
} from './store-messages.js'
import type { TableDefinition } from './table-definition.js'
import { type TokenSource, tokenColumns } from './token-columns.js'
import { uiMessageOf } from './ui-message-of.js'
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
   *
   * Branches follow from what the client sends: each new message follows the message before
   * it in `messages` (the first one the chat's active message, or `options.parentId`), so a
   * history the client cut back and continued (an edited message with a new id, a
   * regenerated answer) becomes a sibling branch, never an overwrite; the last new message
   * becomes the chat's active one.
   */
  async saveUIMessages(
    chatId: string,
    messages: readonly UIMessageLike[],
    options: SaveUIMessagesOptions = {},
  ): Promise<ChatMessage[]> {
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
    return this.#store(valid, 'saveUIMessages', { byClientId: true, parentUiId: options.parentId })
  }

  /**
   * The chat's active path in the AI SDK's `UIMessage` shape, oldest first: what
   * {@link saveUIMessages} stored, ids included; a message appended as plain `content`
   * reads as one text part. A file part of an attachment gets a fresh URL (a signed one on
   * S3; see `data.attachments`), made after the cache: a URL never outlives its read.
   */
  async loadUIMessages(chatId: string): Promise<ReturnType<typeof toUIMessage>[]> {
    checkChatId(chatId, 'loadUIMessages')
    const rows: ChatMessage[] = []
    let cursor: string | undefined
    do {
      const page = await this.read('loadUIMessages', (executor) =>
        this.#pathPage(chatId, 'asc', { limit: 1000, cursor }, executor),
      )
      rows.push(...page.items)
      cursor = page.nextCursor ?? undefined
    } while (cursor)
    const messages = rows.map(uiMessageOf)
    const attachmentIds = messages.flatMap((message) =>
      message.parts.flatMap((part) =>
        part.type === 'file' && part.attachmentId !== undefined ? [part.attachmentId] : [],
      ),
    )
    const urls =
      attachmentIds.length > 0 && this.context.fileUrls
        ? await this.run('loadUIMessages', () => this.context.fileUrls!(attachmentIds))
        : undefined
    return messages.map((message) => toUIMessage(message, urls))
  }

  #store(values: StoredValue[], operation: string, how: StoreOptions = {}): Promise<ChatMessage[]> {
    return this.run(operation, () =>
      storeMessages(this.context, values, `chat_messages.${operation}`, how, (row) =>
        this.cacheKeysOf(row),
      ),
    )
  }

  /**
   * The messages of the chat's active path (its branch on show), oldest first (or newest
   * first with `order: 'desc'`), one page at a time. Every message of every branch is in
   * `findMany({ where: { chatId } })`.
   */
  async listByChat(chatId: string, options: MessageListOptions = {}): Promise<Page<ChatMessage>> {
    checkChatId(chatId, 'listByChat')
    if (options.consistency !== undefined)
      return this.withConsistency(options, 'listByChat', () =>
        this.listByChat(chatId, { ...options, consistency: undefined }),
      )
    const order = options.order ?? 'asc'
    const read = () =>
      this.read('listByChat', (executor) =>
        this.#pathPage(
          chatId,
          order,
          { limit: options.limit, cursor: options.cursor ?? undefined },
          executor,
        ),
      )
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

  /**
   * Starts an assistant reply that will stream: a message with status `streaming` and no
   * parts yet, following the chat's active message (or `parentId`, the AI SDK id of the user
   * message to answer again: a regenerated answer is a sibling of the first). It becomes the
   * chat's active message, and `streamId` (when given) the chat's active stream, for a client
   * that reconnects. Write to it with the returned {@link ReplyStream}.
   */
  async startReply(chatId: string, options: StartReplyOptions = {}): Promise<ReplyStream> {
    const context = 'chat_messages.startReply'
    if (this.context.inTransaction) {
      throw new StratumError(
        'TRANSACTION_MISUSE',
        `${context}: a reply is written over many statements after this one returns; start it outside data.transaction()`,
      )
    }
    const { parentId, streamId, flushIntervalMs, heartbeatMs, ...fields } = validate(
      startReplySchema,
      options,
      context,
    )
    const id = fields.id ?? uuidv7()
    const value = validate(
      this.definition.insertSchema,
      {
        chatId,
        role: 'assistant',
        content: '',
        parts: [],
        ...fields,
        clientId: id,
        id: fields.id === undefined ? id : undefined,
      },
      context,
    ) as NewChatMessage
    const [row] = await this.#store([{ ...value, status: 'streaming' }], 'startReply', {
      byClientId: false,
      parentUiId: parentId,
      streamId: streamId ?? null,
    })
    return new ReplyStream(this.context, row!, streamId ?? null, {
      flushIntervalMs: flushIntervalMs ?? REPLY_STREAM_DEFAULTS.flushIntervalMs,
      heartbeatMs: heartbeatMs ?? REPLY_STREAM_DEFAULTS.heartbeatMs,
    })
  }

  /**
   * Marks `interrupted` every reply still `streaming` whose writer has not written for
   * `idleMs` (its process died, or lost its connection), and clears its chat's active
   * stream. What had arrived is kept. Run it on a timer or a cron; returns the ids it marked.
   */
  async sweepInterruptedReplies(options: { idleMs?: number } = {}): Promise<string[]> {
    const { idleMs = DEFAULT_SWEEP_IDLE_MS } = validate(
      sweepSchema,
      options,
      'chat_messages.sweepInterruptedReplies',
    )
    return this.run('sweepInterruptedReplies', () =>
      this.context.transaction(async (tx) => {
        const swept = await tx.executor
          .update(chatMessages)
          .set({ status: 'interrupted', finishedAt: sql`now()` })
          .where(
            and(
              eq(chatMessages.status, 'streaming'),
              sql`${chatMessages.updatedAt} < now() - make_interval(secs => ${idleMs / 1000})`,
            ),
          )
          .returning()
        const chatIds = [...new Set(swept.map((row) => row.chatId))]
        if (chatIds.length > 0) {
          await tx.executor
            .update(chats)
            .set({ activeStreamId: null })
            .where(inArray(chats.id, chatIds))
        }
        await tx.afterCommit([
          ...chatIds.map(chatEntityKey),
          ...swept.flatMap((row) => this.cacheKeysOf(row)),
        ])
        await tx.publishAfterCommit(swept.map((row) => messageEvent('message-finished', row)))
        return swept.map((row) => row.id)
      }),
    )
  }

  /**
   * Shows another branch: the chat's active message becomes the newest message under
   * `messageId` (an AI SDK id; itself when nothing follows it), so `listByChat` and
   * `loadUIMessages` return the path through it. Returns the new active message's row id.
   */
  async switchBranch(chatId: string, messageId: string): Promise<string> {
    checkChatId(chatId, 'switchBranch')
    return this.run('switchBranch', () =>
      this.context.transaction(async (tx) => {
        const [chat] = await tx.executor
          .select({ userId: chats.userId })
          .from(chats)
          .where(eq(chats.id, chatId))
          .for('update')
        if (!chat) throw notFoundChat(chatId)
        const target = await resolveMessageId(
          tx,
          chatId,
          messageId,
          'chat_messages.switchBranch',
          'messageId',
        )
        const leaf = await newestInSubtree(tx, target)
        await tx.executor.update(chats).set({ activeMessageId: leaf }).where(eq(chats.id, chatId))
        await tx.afterCommit([chatEntityKey(chatId), messagesOfChatKey(chatId)])
        await tx.publishAfterCommit([
          {
            type: 'branch-switched',
            chatId,
            activeMessageId: leaf,
            at: new Date().toISOString(),
          },
        ])
        return leaf
      }),
    )
  }

  /**
   * For each message of the chat's active path, its siblings (the other answers to the same
   * message, the other edits of it) and its place among them: what a chat UI's "2 / 3"
   * control shows. A message without siblings has one sibling id, its own.
   */
  async branches(chatId: string): Promise<MessageBranches[]> {
    checkChatId(chatId, 'branches')
    return this.read('branches', (executor) => branchesOnPath(executor, chatId))
  }

  /**
   * One page of the chat's active path. A chat never linked (no message yet, or only
   * messages of a release before branches) lists all its messages, which form one line.
   */
  async #pathPage(
    chatId: string,
    order: 'asc' | 'desc',
    options: { limit?: number | undefined; cursor?: string | undefined },
    executor: Executor,
  ): Promise<Page<ChatMessage>> {
    const afterId =
      options.cursor === undefined ? undefined : cursorMessageId(options.cursor, order)
    const [chat] = await executor
      .select({ active: chats.activeMessageId, leaf: sql<string | null>`${activeLeafOfChatRow}` })
      .from(chats)
      .where(eq(chats.id, chatId))
    return (await selectPage(
      executor,
      this.definition as unknown as TableDefinition<PgTable>,
      {
        where: { chatId },
        orderBy: { seq: order, createdAt: order },
        limit: options.limit,
        cursor: options.cursor,
      },
      'listByChat',
      chat?.active
        ? onActivePathPage(chatId, order, options.limit ?? DEFAULT_PAGE_SIZE, afterId, chat.leaf)
        : undefined,
    )) as Page<ChatMessage>
  }

  /** Every message written gets its token counts. */
  protected override async derive(
    rows: Record<string, unknown>[],
  ): Promise<Record<string, unknown>[]> {
    const counter = await this.context.tokens.counter()
    return rows.map((row) => ({ ...row, ...tokenColumns(row as TokenSource, counter) }))
  }

  /**
   * New parts are counted; new content alone is counted only for a message without parts
   * (the content of one with parts is their plain text, and its counts stay).
   */
  protected override async derivePatch(
    patch: Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    if (patch.parts === undefined && patch.content === undefined) return patch
    const counter = await this.context.tokens.counter()
    if (patch.parts !== undefined && patch.parts !== null) {
      return { ...patch, ...tokenColumns(patch as TokenSource, counter) }
    }
    if (typeof patch.content !== 'string') return patch
    const counted = tokenColumns({ content: patch.content }, counter)
    if (patch.parts === null) return { ...patch, ...counted }
    // Kept when the message has parts. Values as text with casts: drizzle spreads an array
    // given to sql`` into a list of parameters.
    const { parts, tokens, partTokens, tokenCounter } = chatMessages
    const unlessParts = (value: SQL, column: PgColumn) =>
      sql`case when ${parts} is null then ${value} else ${column} end`
    return {
      ...patch,
      tokens: unlessParts(sql`${String(counted.tokens)}::integer`, tokens),
      partTokens: unlessParts(sql`${`{${counted.partTokens.join(',')}}`}::integer[]`, partTokens),
      tokenCounter: unlessParts(sql`${counted.tokenCounter}::varchar`, tokenCounter),
    }
  }

  protected override cacheKeysOf(row: ChatMessage): string[] {
    return [...super.cacheKeysOf(row), messagesOfChatKey(row.chatId)]
  }
}

/** Options of `saveUIMessages`. */
export interface SaveUIMessagesOptions {
  /** The AI SDK id of the message the first new message follows (default: the active one). */
  parentId?: string
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

/** `VALIDATION` unless `chatId` can be a chat's id. */
function checkChatId(chatId: unknown, operation: string): void {
  assertUuid(chatId, `chat_messages.${operation}`, 'chatId', 'the id of a chat')
}

/** The id of the last message of the page a `listByChat` cursor continues from. */
function cursorMessageId(cursor: string, order: 'asc' | 'desc'): string {
  const ordering = (['seq', 'createdAt', 'id'] as const).map((key) => ({
    key,
    column: chatMessages[key],
    direction: order,
  }))
  const id = decodeCursor(ordering, cursor, 'chat_messages.listByChat').at(-1)
  if (!isUuid(id)) {
    throw new ValidationError('chat_messages.listByChat', [
      { path: 'cursor', message: 'is not a cursor returned by this method' },
    ])
  }
  return id
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
