import { and, eq, sql } from 'drizzle-orm'
import { StratumError } from '../errors.js'
import { activeLeafOfChatRow, resolveMessageId } from '../repositories/message-tree.js'
import type { RepositoryContext } from '../repositories/repository-context.js'
import { notFoundChat } from '../repositories/store-messages.js'
import { chats } from '../schema/chats.js'

/**
 * Checks that `userId` owns the chat and that it is not deleted, returning its active leaf
 * (null for a chat without messages); `lock` takes the chat row's lock for the current
 * transaction. Another user's chat is NOT_FOUND (whether it exists is not the caller's to
 * know); a deleted one is CONFLICT.
 * @internal
 */
export async function ownedChat(
  context: RepositoryContext,
  chatId: string,
  userId: string,
  lock = false,
): Promise<{ leaf: string | null }> {
  const query = context.executor
    .select({ leaf: sql<string | null>`${activeLeafOfChatRow}`, deletedAt: chats.deletedAt })
    .from(chats)
    .where(and(eq(chats.id, chatId), eq(chats.userId, userId)))
  const [chat] = lock ? await query.for('no key update') : await query
  if (!chat) throw notFoundChat(chatId)
  if (chat.deletedAt !== null) {
    throw new StratumError(
      'CONFLICT',
      `chat ${chatId} is deleted; restore it (chats.restore) to use it`,
      { details: { table: 'chats' } },
    )
  }
  return { leaf: chat.leaf }
}

/**
 * {@link ownedChat}, and the branch:
 * the message `leafId` names (a client or row id), else the chat's active leaf.
 * @internal
 */
export async function ownedChatLeaf(
  context: RepositoryContext,
  chatId: string,
  userId: string,
  leafId: string | undefined,
  operation: string,
): Promise<string | null> {
  const chat = await ownedChat(context, chatId, userId)
  return leafId === undefined
    ? chat.leaf
    : resolveMessageId(context, chatId, leafId, operation, 'leafId')
}
