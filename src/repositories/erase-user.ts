import { eq, inArray } from 'drizzle-orm'
import type { Cache } from '../cache/cache.js'
import type { SessionStore } from '../cache/session-store.js'
import type { StratumDatabase, StratumTransaction } from '../db/connection.js'
import { chatAttachments } from '../schema/chat-attachments.js'
import { chatMessages } from '../schema/chat-messages.js'
import { chatVectors } from '../schema/chat-vectors.js'
import { chats } from '../schema/chats.js'
import { userMemories } from '../schema/user-memories.js'
import { users } from '../schema/users.js'
import type { BlobStore } from '../storage/blob-store.js'
import { appendAll } from '../util/append-all.js'
import { attachmentKeyPrefixOfUser } from './attachment-keys.js'
import { drainBlobDeletions } from './blob-deletion-queue.js'
import {
  chatEntityKey,
  chatsOfUserKey,
  emailKey,
  entityKey,
  memoriesOfUserKey,
  messageEntityKey,
  messagesOfChatKey,
} from './cache-keys.js'
import type { CascadeGraph } from './cascade-graph.js'

/** What `data.users.erase()` removed. */
export interface ErasureReport {
  readonly userId: string
  /** Rows deleted, per table (the user row, and what cascaded from it). */
  readonly rows: {
    readonly users: number
    readonly chats: number
    readonly messages: number
    readonly vectors: number
    /** Files of the user's chats (their blobs are in `blobs`). */
    readonly attachments: number
    /** Long-term memories, superseded ones included. */
    readonly memories: number
  }
  /** Sessions ended. */
  readonly sessions: number
  /** Blob keys deleted, under the user's prefixes. */
  readonly blobs: readonly string[]
}

/** What erasure needs from the data layer. @internal */
export interface ErasureContext {
  readonly db: StratumDatabase
  readonly cache: Cache
  readonly sessions: SessionStore
  readonly blobs: BlobStore
  /** Blob prefixes of one user, `{userId}` replaced (default `users/{userId}/`). */
  readonly blobPrefixes: readonly string[]
  readonly transaction: <T>(fn: (tx: StratumTransaction) => Promise<T>) => Promise<T>
  /** Cached rows of extension tables that the user's delete reaches by cascade. */
  readonly cascades: CascadeGraph
}

/**
 * Erases a user everywhere: the rows (the user and, by cascade, chats, messages and
 * vectors) in one transaction; then every cache key that named them (entities, the email
 * pointer, list groups and their pages, fences); then the user's sessions; then the blobs
 * under the user's prefixes. Safe to run again: a second run finds no rows and sweeps
 * the cache, sessions and blobs once more (what a run that failed halfway needs).
 * @internal
 */
export async function eraseUser(context: ErasureContext, userId: string): Promise<ErasureReport> {
  const found = await context.transaction(async (tx) => {
    const [user] = await tx
      .select({ email: users.email })
      .from(users)
      .where(eq(users.id, userId))
      .for('update')
    const chatIds = (
      await tx.select({ id: chats.id }).from(chats).where(eq(chats.userId, userId))
    ).map((c) => c.id)
    const messageIds = chatIds.length
      ? (
          await tx
            .select({ id: chatMessages.id })
            .from(chatMessages)
            .where(inArray(chatMessages.chatId, chatIds))
        ).map((m) => m.id)
      : []
    const vectors = await tx.$count(chatVectors, eq(chatVectors.userId, userId))
    const attachments = await tx.$count(chatAttachments, eq(chatAttachments.userId, userId))
    const memories = await tx.$count(userMemories, eq(userMemories.userId, userId))
    const cascaded = await context.cascades.keysOnDelete(tx, 'users', [userId])
    const deleted = await tx.delete(users).where(eq(users.id, userId)).returning({ id: users.id })
    return {
      email: user?.email,
      chatIds,
      messageIds,
      vectors,
      attachments,
      memories,
      cascaded,
      users: deleted.length,
    }
  })
  await context.cache.purge(
    [
      entityKey('users', userId),
      ...(found.email ? [emailKey(found.email)] : []),
      ...found.chatIds.map(chatEntityKey),
      ...found.messageIds.map(messageEntityKey),
      ...found.cascaded,
      memoriesOfUserKey(userId),
    ],
    [chatsOfUserKey(userId), ...found.chatIds.map(messagesOfChatKey)],
  )
  const sessions = await context.sessions.destroyAllForUser(userId)
  const blobs: string[] = []
  for (const template of context.blobPrefixes) {
    const prefix = template.replaceAll('{userId}', userId)
    const keys: string[] = []
    for await (const item of context.blobs.listAll({ prefix })) keys.push(item.key)
    if (keys.length === 0) continue
    const result = await context.blobs.deleteMany(keys)
    if (result.errors.length > 0)
      throw new Error(
        `could not delete ${result.errors.length} blob(s) of the user: ${result.errors[0]!.message}`,
      )
    appendAll(blobs, keys)
  }
  // Attachments' blobs were queued by the delete; under a custom prefix they are not swept above.
  const drained = await drainBlobDeletions(context.db, context.blobs)
  if (drained.failed > 0)
    throw new Error(`could not delete ${drained.failed} queued blob(s) of the user's attachments`)
  const listed = new Set(blobs)
  const own = attachmentKeyPrefixOfUser(userId)
  appendAll(
    blobs,
    drained.deleted.filter((key) => key.startsWith(own) && !listed.has(key)),
  )
  return {
    userId,
    rows: {
      users: found.users,
      chats: found.chatIds.length,
      messages: found.messageIds.length,
      vectors: found.vectors,
      attachments: found.attachments,
      memories: found.memories,
    },
    sessions,
    blobs,
  }
}
