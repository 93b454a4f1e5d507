import { desc, sql } from 'drizzle-orm'
import type { Executor } from '../db/connection.js'
import { type ChatMessage, chatMessages } from '../schema/chat-messages.js'
import { type ChatSummary, chatSummaries } from '../schema/chat-summaries.js'

/** How far up a branch to read. */
export interface WalkLimits {
  /** Stop once the messages read cost more than this (by their stored counts); null: never. */
  readonly budget: number | null
  readonly messageOverheadTokens: number
  readonly fileTokens: number
  /** Stop at the newest message a ready summary covers, and return that summary. */
  readonly summaries: boolean
}

/** The newest messages of a branch, newest first, and where the walk stopped. */
export interface WalkedBranch {
  /**
   * The messages read, newest first. With `summary`, the last is the message it covers up
   * to: the summary stands for it and everything before it.
   */
  readonly rows: ChatMessage[]
  /** The summary that covers the branch up to the last row, if the walk stopped at one. */
  readonly summary: ChatSummary | null
  /** The newest message not read (it and all before it did not fit), or null at the root. */
  readonly unreadFrom: string | null
}

/**
 * The messages of the branch that ends at `leafId`, walked from it up the parent links in
 * one recursive query that stops once their stored counts pass the budget and a user message
 * has been read (so a chat of 100,000 messages costs what the window costs), or at the newest
 * message a summary covers. Messages without stored counts cost only their overhead and files
 * here, so the walk reads more of them, and the builder counts them itself.
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
  const summarized = limits.summaries
    ? sql`EXISTS (SELECT 1 FROM ${chatSummaries} s WHERE s.covers_message_id = m.id AND s.status = 'ready')`
    : sql`false`
  const withinBudget =
    limits.budget === null
      ? sql`true`
      : sql`(p.total <= ${limits.budget}::bigint OR NOT p.seen_user)`
  const walk = sql`WITH RECURSIVE path(id, parent_id, total, seen_user, summarized) AS (
      SELECT m.id, m.parent_id, (${cost})::bigint, m.role = 'user', ${summarized}
        FROM chat_messages m WHERE m.id = ${leafId}::uuid AND m.chat_id = ${chatId}::uuid
      UNION ALL
      SELECT m.id, m.parent_id, p.total + ${cost}, p.seen_user OR m.role = 'user', ${summarized}
        FROM chat_messages m JOIN path p ON m.id = p.parent_id
       WHERE ${withinBudget} AND NOT p.summarized
    ) SELECT id FROM path`
  // One query: the rows of the walk by a subquery, not a list of ids (which a branch read
  // to its root, of messages without counts, could make longer than a statement takes).
  const rows = await executor
    .select()
    .from(chatMessages)
    .where(sql`${chatMessages.id} IN (${walk})`)
    .orderBy(desc(chatMessages.seq), desc(chatMessages.createdAt), desc(chatMessages.id))
  // A parent's seq is below its child's: the last row is where the walk stopped.
  const last = rows.at(-1)
  const [summary] =
    limits.summaries && last
      ? await executor
          .select()
          .from(chatSummaries)
          .where(
            sql`${chatSummaries.coversMessageId} = ${last.id} AND ${chatSummaries.status} = 'ready'`,
          )
      : []
  return { rows, summary: summary ?? null, unreadFrom: last?.parentId ?? null }
}
