import { desc, sql } from 'drizzle-orm'
import type { Executor } from '../db/connection.js'
import { type ChatMessage, chatMessages } from '../schema/chat-messages.js'

/** How far up a branch to read. */
export interface WalkLimits {
  /** Stop once the messages read cost more than this (by their stored counts). */
  readonly budget: number
  readonly messageOverheadTokens: number
  readonly fileTokens: number
}

/** The newest messages of a branch, newest first, and whether older ones were left unread. */
export interface WalkedBranch {
  readonly rows: ChatMessage[]
  /** The newest message not read (it and all before it did not fit), or null at the root. */
  readonly unreadFrom: string | null
}

/**
 * The messages of the branch that ends at `leafId`, walked from it up the parent links in
 * one recursive query that stops once their stored counts pass the budget and a user message
 * has been read (so a chat of 100,000 messages costs what the window costs). Messages without
 * stored counts cost only their overhead and files here, so the walk reads more of them, and
 * the builder counts them itself.
 * @internal
 */
export async function walkBranch(
  executor: Executor,
  chatId: string,
  leafId: string,
  limits: WalkLimits,
): Promise<WalkedBranch> {
  const cost = sql`coalesce(m.tokens, 0) + ${limits.messageOverheadTokens}::int + ${limits.fileTokens}::int * (
      SELECT count(*)::int FROM jsonb_array_elements(coalesce(m.parts, '[]'::jsonb)) e
       WHERE e->>'type' = 'file')`
  const walk = sql`WITH RECURSIVE path(id, parent_id, total, seen_user) AS (
      SELECT m.id, m.parent_id, ${cost}, m.role = 'user'
        FROM chat_messages m WHERE m.id = ${leafId}::uuid AND m.chat_id = ${chatId}::uuid
      UNION ALL
      SELECT m.id, m.parent_id, p.total + ${cost}, p.seen_user OR m.role = 'user'
        FROM chat_messages m JOIN path p ON m.id = p.parent_id
       WHERE p.total <= ${limits.budget}::int OR NOT p.seen_user
    ) SELECT id FROM path`
  // One query: the rows of the walk by a subquery, not a list of ids (which a branch read
  // to its root, of messages without counts, could make longer than a statement takes).
  const rows = await executor
    .select()
    .from(chatMessages)
    .where(sql`${chatMessages.id} IN (${walk})`)
    .orderBy(desc(chatMessages.seq), desc(chatMessages.createdAt), desc(chatMessages.id))
  // A parent's seq is below its child's: the last row is where the walk stopped.
  return { rows, unreadFrom: rows.at(-1)?.parentId ?? null }
}
