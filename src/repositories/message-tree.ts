import { type SQL, sql } from 'drizzle-orm'
import { StratumError, ValidationError } from '../errors.js'
import { chatMessages } from '../schema/chat-messages.js'
import { chats } from '../schema/chats.js'
import { clip } from '../util/clip.js'
import { isUuid } from '../util/is-uuid.js'
import type { RepositoryContext } from './repository-context.js'

/**
 * The branch structure of a chat's messages, as SQL: each message links to its parent, a
 * chat points at the last message of its active branch, and the active path is that message
 * and its ancestors. A child is always appended after its parent, so a path in `seq` order is
 * its conversation order.
 * @internal
 */

/**
 * The first message of the active path (its newest) of the `chats` row in scope: the chat's
 * active message, or its newest message when that one was deleted; NULL for a chat never
 * linked (no message yet, or only messages of a release before branches).
 */
export const activeLeafOfChatRow: SQL = sql`CASE WHEN ${chats.activeMessageId} IS NULL THEN NULL ELSE coalesce(
    (SELECT m.id FROM chat_messages m WHERE m.id = ${chats.activeMessageId} AND m.chat_id = ${chats.id}),
    (SELECT m.id FROM chat_messages m WHERE m.chat_id = ${chats.id} ORDER BY m.seq DESC NULLS LAST LIMIT 1)
  ) END`

/** The first message of the chat's active path (see {@link activeLeafOfChatRow}). */
function activeLeaf(chatId: string): SQL {
  return sql`(SELECT ${activeLeafOfChatRow} FROM chats WHERE ${chats.id} = ${chatId})`
}

/**
 * A condition on `chat_messages` true for the messages of one page of the active path of a
 * linked chat whose path starts at `leafId`.
 *
 * Newest first, the page is walked from its newest message up the parent links and the walk
 * stops after `limit + 1` messages (a recursive query is evaluated lazily), so a page costs
 * the same whatever the chat's length: it starts at the active message, or at the parent of
 * the previous page's last message (`afterId`). Oldest first, the whole path is walked (its
 * first message is the far end of the walk), and the keyset condition pages through it.
 * Newest first, the scan of the chat's `seq` index is bounded below by the walk's oldest
 * message: without the bound, a page whose walk ends (at the path's first message) would read
 * the rest of the chat looking for a row to close its last sort group.
 */
export function onActivePathPage(
  chatId: string,
  order: 'asc' | 'desc',
  limit: number,
  afterId: string | undefined,
  leafId: string | null,
): SQL {
  const start =
    order === 'desc' && afterId !== undefined
      ? sql`(SELECT m.parent_id FROM chat_messages m WHERE m.id = ${afterId} AND m.chat_id = ${chatId})`
      : sql`${leafId}::uuid`
  if (order === 'asc') return sql`${chatMessages.id} IN (${walkUp(start, sql`id`)})`
  const stop = sql` LIMIT ${limit + 1}`
  return sql`${chatMessages.id} IN (${walkUp(start, sql`id`)}${stop})
    AND ${chatMessages.seq} >= (SELECT min(w.seq) FROM (${walkUp(start, sql`seq`)}${stop}) w)`
}

/** `column` (id or seq) of the messages from `start` up the parent links to the root, newest first. */
function walkUp(start: SQL, column: SQL = sql`id`): SQL {
  return sql`WITH RECURSIVE path(id, parent_id, seq) AS (
      SELECT m.id, m.parent_id, m.seq FROM chat_messages m WHERE m.id = ${start}
      UNION ALL
      SELECT m.id, m.parent_id, m.seq FROM chat_messages m JOIN path p ON m.id = p.parent_id
    ) SELECT ${column} FROM path`
}

/** A condition true for every message of the chat's active path (see {@link onActivePathPage}). */
export function onActivePath(chatId: string): SQL {
  return sql`(${activeLeaf(chatId)} IS NULL OR ${chatMessages.id} IN (${walkUp(activeLeaf(chatId))}))`
}

/**
 * Numbers and links the messages of a chat written before sequence numbers or branches, in
 * the order they were listed by (`seq`, then `created_at`, `id`): `seq` 1, 2, 3, ... and each
 * message's parent the one before it. Runs under the chat's lock, once per chat (afterwards
 * the chat has an active message). Returns the ids it changed and the last message's id.
 */
export async function linkOlderMessages(
  tx: RepositoryContext,
  chatId: string,
): Promise<{ changed: string[]; count: number; last: string | null }> {
  const rows = await tx.executor.execute<{ kind: 'changed' | 'last'; id: string; n: unknown }>(sql`
    WITH ordered AS (
      SELECT id, row_number() OVER w AS n, lag(id) OVER w AS previous
      FROM chat_messages WHERE chat_id = ${chatId}
      WINDOW w AS (ORDER BY seq, created_at, id)
    ), updated AS (
      UPDATE chat_messages AS m SET seq = o.n, parent_id = o.previous
      FROM ordered o
      WHERE m.id = o.id AND (m.seq IS DISTINCT FROM o.n OR m.parent_id IS DISTINCT FROM o.previous)
      RETURNING m.id
    )
    SELECT 'changed' AS kind, id, NULL::bigint AS n FROM updated
    UNION ALL
    (SELECT 'last' AS kind, id, n FROM ordered ORDER BY n DESC LIMIT 1)`)
  const last = rows.rows.find((row) => row.kind === 'last')
  return {
    changed: rows.rows.filter((row) => row.kind === 'changed').map((row) => row.id),
    count: last ? Number(last.n) : 0,
    last: last?.id ?? null,
  }
}

/**
 * The row id of the message of `chatId` that the AI SDK knows as `uiId`: its client id, or
 * its row id when it has none. `NOT_FOUND` when the chat has no such message.
 */
export async function resolveMessageId(
  tx: RepositoryContext,
  chatId: string,
  uiId: unknown,
  context: string,
  path: string,
): Promise<string> {
  if (typeof uiId !== 'string' || uiId.length === 0 || uiId.length > 8192) {
    throw new ValidationError(context, [{ path, message: 'must be the id of a message' }])
  }
  const byRowId = isUuid(uiId) ? sql` OR (client_id IS NULL AND id = ${uiId}::uuid)` : sql``
  const rows = await tx.executor.execute<{ id: string }>(sql`
    SELECT id FROM chat_messages
    WHERE chat_id = ${chatId} AND (client_id = ${uiId}${byRowId})
    ORDER BY client_id IS NULL LIMIT 1`)
  const found = rows.rows[0]?.id
  if (!found) {
    throw new StratumError('NOT_FOUND', `chat ${chatId} has no message ${clip(uiId)}`, {
      details: { table: 'chat_messages' },
    })
  }
  return found
}

/** The newest message (highest `seq`) of the subtree under `messageId`, itself included. */
export async function newestInSubtree(tx: RepositoryContext, messageId: string): Promise<string> {
  const rows = await tx.executor.execute<{ id: string }>(sql`
    WITH RECURSIVE tree(id, seq) AS (
      SELECT id, seq FROM chat_messages WHERE id = ${messageId}
      UNION ALL
      SELECT m.id, m.seq FROM chat_messages m JOIN tree t ON m.parent_id = t.id
    ) SELECT id FROM tree ORDER BY seq DESC NULLS LAST LIMIT 1`)
  return rows.rows[0]!.id
}

/** One message of the active path with its siblings, for a chat UI's "2 / 3" control. */
export interface MessageBranches {
  /** The message's id as the AI SDK knows it (its client id, else its row id). */
  readonly id: string
  /** The ids of it and its siblings (same parent), oldest first. */
  readonly siblingIds: readonly string[]
  /** Its place in `siblingIds` (0-based). */
  readonly index: number
}

/** The siblings of every message on the chat's active path, in path order. */
export async function branchesOnPath(
  executor: RepositoryContext['executor'],
  chatId: string,
): Promise<MessageBranches[]> {
  const rows = await executor.execute<{
    id: string
    ui_id: string
    parent_id: string | null
    on_path: boolean
  }>(sql`
    WITH path AS (
      SELECT id, parent_id FROM chat_messages WHERE chat_id = ${chatId} AND ${onActivePath(chatId)}
    )
    SELECT s.id, coalesce(s.client_id, s.id::text) AS ui_id, s.parent_id,
           (s.id IN (SELECT id FROM path)) AS on_path
    FROM chat_messages s
    WHERE s.chat_id = ${chatId}
      AND (s.parent_id IN (SELECT parent_id FROM path)
           OR (s.parent_id IS NULL AND EXISTS (SELECT 1 FROM path WHERE parent_id IS NULL)))
    ORDER BY s.seq, s.created_at, s.id`)
  const byParent = new Map<string | null, string[]>()
  for (const row of rows.rows) {
    const siblings = byParent.get(row.parent_id) ?? []
    siblings.push(row.ui_id)
    byParent.set(row.parent_id, siblings)
  }
  return rows.rows
    .filter((row) => row.on_path)
    .map((row) => {
      const siblingIds = byParent.get(row.parent_id)!
      return { id: row.ui_id, siblingIds, index: siblingIds.indexOf(row.ui_id) }
    })
}
