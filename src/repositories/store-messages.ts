import { and, eq, inArray, sql } from 'drizzle-orm'
import { v7 as uuidv7 } from 'uuid'
import { StratumError, ValidationError, type ValidationIssue } from '../errors.js'
import { chatAttachments } from '../schema/chat-attachments.js'
import {
  type ChatMessage,
  chatMessages,
  type MessageStatus,
  type NewChatMessage,
} from '../schema/chat-messages.js'
import { chats } from '../schema/chats.js'
import { chatEntityKey, chatsOfUserKey, messageEntityKey } from './cache-keys.js'
import { messageEvent } from './chat-events.js'
import { activeLeafOfChatRow, linkOlderMessages, resolveMessageId } from './message-tree.js'
import type { RepositoryContext } from './repository-context.js'
import { tokenColumns } from './token-columns.js'

/**
 * Writes messages in one transaction, in order: each chat's row locked first (in id order,
 * so that two writes to several chats cannot deadlock), so that sequence numbers follow the
 * order writes commit; a missing chat is NOT_FOUND before anything is written. Each new
 * message gets the chat's next `seq` and a parent (the message before it in this call, the
 * first one the parent asked for or the chat's active message), and the last new message
 * becomes the chat's active one. Cache keys are invalidated after commit.
 * @internal
 */
export async function storeMessages(
  repository: RepositoryContext,
  values: StoredValue[],
  context: string,
  how: StoreOptions,
  cacheKeysOf: (row: ChatMessage) => string[],
): Promise<ChatMessage[]> {
  if (values.length === 0) return []
  // Counted before the transaction: no lock is held while text is tokenized. A reply
  // that starts streaming is counted when it finishes.
  const counter = await repository.tokens.counter()
  values = values.map((value) =>
    value.status === 'streaming' ? value : { ...value, ...tokenColumns(value, counter) },
  )
  const chatIds = [...new Set(values.map((v) => v.chatId))].sort()
  return repository.transaction(async (tx: RepositoryContext) => {
    // Locking the chats first (in id order, so that two appends to several chats cannot
    // deadlock) queues concurrent appends to one chat, so sequence numbers follow the
    // order appends commit; a missing chat is NOT_FOUND before anything is written.
    const locked = await tx.executor
      .select({
        id: chats.id,
        userId: chats.userId,
        lastSeq: chats.lastMessageSeq,
        active: sql<string | null>`${activeLeafOfChatRow}`,
        deletedAt: chats.deletedAt,
      })
      .from(chats)
      .where(inArray(chats.id, chatIds))
      .orderBy(chats.id)
      .for('update')
    if (locked.length !== chatIds.length) {
      const found = new Set(locked.map((c) => c.id))
      throw notFoundChat(chatIds.find((id) => !found.has(id))!)
    }
    const deleted = locked.find((chat) => chat.deletedAt !== null)
    if (deleted) {
      throw new StratumError(
        'CONFLICT',
        `chat ${deleted.id} is deleted; restore it (chats.restore) to write to it`,
        { details: { table: 'chats' } },
      )
    }
    const lastSeq = new Map<string, number>()
    const active = new Map<string, string | null>()
    const relinked: string[] = []
    for (const chat of locked) {
      if (chat.active === null) {
        const older = await linkOlderMessages(tx, chat.id)
        relinked.push(...older.changed)
        lastSeq.set(chat.id, older.count)
        active.set(chat.id, older.last)
      } else {
        lastSeq.set(chat.id, chat.lastSeq)
        active.set(chat.id, chat.active)
      }
    }
    await checkParents(tx, values, context)
    await checkAttachments(tx, values, context)
    const firstParent =
      how.parentUiId === undefined
        ? undefined
        : await resolveMessageId(tx, chatIds[0]!, how.parentUiId, context, 'parentId')
    const stored = how.byClientId
      ? await storedClientIds(tx, chatIds, values)
      : new Map<string, string>()
    // Each new message follows the one before it in this call, the first one the
    // chat's active message (or the parent asked for); the last becomes active.
    const previous = new Map<string, string>()
    const newest = new Map<string, string>()
    values = values.map((value) => {
      const storedId = stored.get(`${value.chatId}:${value.clientId}`)
      if (storedId) {
        previous.set(value.chatId, storedId)
        return value
      }
      const id = value.id ?? uuidv7()
      const seq = lastSeq.get(value.chatId)! + 1
      lastSeq.set(value.chatId, seq)
      // An explicit null starts a new root (an edit of the chat's first message).
      const parentId =
        value.parentId !== undefined
          ? value.parentId
          : newest.size === 0 && firstParent !== undefined
            ? firstParent
            : (previous.get(value.chatId) ?? active.get(value.chatId) ?? null)
      previous.set(value.chatId, id)
      newest.set(value.chatId, id)
      return { ...value, id, seq, parentId }
    })
    const out: ChatMessage[] = []
    for (let i = 0; i < values.length; i += 1000) {
      const insert = tx.executor.insert(chatMessages).values(values.slice(i, i + 1000))
      const rows = how.byClientId
        ? await insert
            .onConflictDoUpdate({
              target: [chatMessages.chatId, chatMessages.clientId],
              set: {
                parts: sql`excluded.parts`,
                content: sql`excluded.content`,
                tokens: sql`excluded.tokens`,
                partTokens: sql`excluded.part_tokens`,
                tokenCounter: sql`excluded.token_counter`,
                metadata: sql`excluded.metadata`,
                updatedAt: sql`now()`,
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
        .set({
          updatedAt: sql`now()`,
          lastMessageSeq: last,
          activeMessageId: newest.get(id) ?? active.get(id) ?? null,
          ...(how.streamId !== undefined ? { activeStreamId: how.streamId } : {}),
        })
        .where(eq(chats.id, id))
    }
    await tx.publishAfterCommit(
      out.map((row) =>
        messageEvent(
          stored.has(`${row.chatId}:${row.clientId}`) ? 'message-updated' : 'message-added',
          row,
        ),
      ),
    )
    await tx.afterCommit([
      ...chatIds.map(chatEntityKey),
      ...new Set(locked.map((chat) => chatsOfUserKey(chat.userId))),
      ...out.flatMap((message) => cacheKeysOf(message)),
      ...relinked.map(messageEntityKey),
    ])
    return out
  })
}

/** The row ids of `values`' client ids that are stored already, by `chatId:clientId`. */
async function storedClientIds(
  tx: RepositoryContext,
  chatIds: string[],
  values: readonly NewChatMessage[],
): Promise<Map<string, string>> {
  const clientIds = values.flatMap((v) => (v.clientId ? [v.clientId] : []))
  if (clientIds.length === 0) return new Map()
  const rows = await tx.executor
    .select({ id: chatMessages.id, chatId: chatMessages.chatId, clientId: chatMessages.clientId })
    .from(chatMessages)
    .where(and(inArray(chatMessages.chatId, chatIds), inArray(chatMessages.clientId, clientIds)))
  return new Map(rows.map((row) => [`${row.chatId}:${row.clientId}`, row.id]))
}

/**
 * A parent given to `append` must be a message of the same chat, stored already or given
 * earlier in the same call: `VALIDATION` otherwise.
 */
async function checkParents(
  tx: RepositoryContext,
  values: readonly StoredValue[],
  context: string,
): Promise<void> {
  const parentIds = [...new Set(values.flatMap((v) => (v.parentId ? [v.parentId] : [])))]
  if (parentIds.length === 0) return
  const rows = await tx.executor
    .select({ id: chatMessages.id, chatId: chatMessages.chatId })
    .from(chatMessages)
    .where(inArray(chatMessages.id, parentIds))
  const stored = new Map(rows.map((row) => [row.id, row.chatId]))
  const earlier = new Map<string, string>()
  const index = values.findIndex((v) => {
    const ok =
      !v.parentId || stored.get(v.parentId) === v.chatId || earlier.get(v.parentId) === v.chatId
    if (v.id) earlier.set(v.id, v.chatId)
    return !ok
  })
  if (index >= 0) {
    throw new ValidationError(context, [
      {
        path: values.length > 1 ? `[${index}].parentId` : 'parentId',
        message: 'must be the id of a message of the same chat, stored or given before it',
      },
    ])
  }
}

/**
 * A file part may show an attachment only of its own chat, uploaded in full, under the
 * attachment's media type: `VALIDATION` otherwise, before anything is written (the
 * trigger that links messages to attachments would refuse it too, less clearly).
 */
async function checkAttachments(
  tx: RepositoryContext,
  values: readonly StoredValue[],
  context: string,
): Promise<void> {
  const uses = values.flatMap((value, index) =>
    (value.parts ?? []).flatMap((part, partIndex) =>
      part.type === 'file' && part.attachmentId !== undefined
        ? [
            {
              index,
              partIndex,
              chatId: value.chatId,
              id: part.attachmentId,
              mediaType: part.mediaType,
            },
          ]
        : [],
    ),
  )
  if (uses.length === 0) return
  const rows = await tx.executor
    .select({
      id: chatAttachments.id,
      chatId: chatAttachments.chatId,
      mediaType: chatAttachments.mediaType,
      size: chatAttachments.size,
    })
    .from(chatAttachments)
    .where(inArray(chatAttachments.id, [...new Set(uses.map((use) => use.id))]))
  const found = new Map(rows.map((row) => [row.id, row]))
  const issues: ValidationIssue[] = []
  for (const use of uses) {
    const at = `${values.length > 1 ? `[${use.index}].` : ''}parts[${use.partIndex}]`
    const row = found.get(use.id)
    if (!row || row.chatId !== use.chatId)
      issues.push({
        path: `${at}.attachmentId`,
        message: row
          ? 'is an attachment of another chat; upload the file to this chat'
          : 'is no attachment (never uploaded, or deleted); upload the file with data.attachments.upload',
      })
    else if (row.size === null)
      issues.push({
        path: `${at}.attachmentId`,
        message: 'is still uploading; save the message once the upload has finished',
      })
    else if (row.mediaType !== use.mediaType)
      issues.push({
        path: `${at}.mediaType`,
        message: `must be the attachment's media type (${row.mediaType})`,
      })
  }
  if (issues.length > 0) throw new ValidationError(context, issues)
}

/** A message as `#store` writes it: validated input, plus what the library sets. */
export type StoredValue = NewChatMessage & { status?: MessageStatus }

/** How `#store` writes. */
export interface StoreOptions {
  /** Saves by client id: a stored id is replaced in place and takes no new number. */
  byClientId?: boolean
  /** The AI SDK id of the message the first new message follows (default: the active one). */
  parentUiId?: string | undefined
  /** Sets the chat's active stream marker. */
  streamId?: string | null
}

/** `NOT_FOUND` for a chat that does not exist. @internal */
export function notFoundChat(chatId: string): StratumError {
  return new StratumError('NOT_FOUND', `chat ${chatId} does not exist`, {
    details: { table: 'chats' },
  })
}
