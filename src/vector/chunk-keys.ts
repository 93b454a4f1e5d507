import { type SQL, sql } from 'drizzle-orm'
import type { PgColumn } from 'drizzle-orm/pg-core'
import { StratumError } from '../errors.js'
import { chatVectors, type NewChatVector } from '../schema/chat-vectors.js'

/**
 * The unique keys a chunk upsert names in `ON CONFLICT`, as Drizzle columns and as SQL
 * text (for the COPY merge). A hash-partitioned table's unique constraints must contain
 * `user_id`, so there they do.
 * @internal
 */
export interface ChunkConflictKeys {
  readonly byMessage: PgColumn[]
  readonly byId: PgColumn[]
  readonly byMessageSql: string
  readonly byIdSql: string
}

/** The conflict keys of the table's layout. @internal */
export function chunkConflictKeys(partitioned: boolean): ChunkConflictKeys {
  const byMessage: PgColumn[] = [chatVectors.messageId, chatVectors.chunkIndex]
  const byId: PgColumn[] = [chatVectors.id]
  if (!partitioned) {
    return { byMessage, byId, byMessageSql: 'message_id, chunk_index', byIdSql: 'id' }
  }
  return {
    byMessage: [...byMessage, chatVectors.userId],
    byId: [...byId, chatVectors.userId],
    byMessageSql: 'message_id, chunk_index, user_id',
    byIdSql: 'id, user_id',
  }
}

/**
 * A query for one stored chunk that has the key (message and chunk index, or id) of one
 * of `items` but another user: on one table the unique keys make such an upsert update
 * nothing (and the store reports `CONFLICT`); on a partitioned table the keys include
 * `user_id`, so the upsert would add a second row instead, and this check runs first.
 * `undefined` when no item has a key to check.
 * @internal
 */
export function otherOwnerQuery(items: readonly NewChatVector[]): SQL | undefined {
  const byMessage = items.filter((v) => v.messageId)
  const byId = items.filter((v) => !v.messageId && v.id)
  const parts: SQL[] = []
  // Arrays go as bound Postgres array literals: one parameter each, whatever the batch size.
  const array = (values: readonly (string | number)[]) => `{${values.join(',')}}`
  if (byMessage.length > 0) {
    parts.push(sql`select v.message_id::text as key from ${chatVectors} v
      join unnest(${array(byMessage.map((v) => v.messageId!))}::uuid[],
                  ${array(byMessage.map((v) => v.chunkIndex ?? 0))}::int[],
                  ${array(byMessage.map((v) => v.userId))}::uuid[]) as k(message_id, chunk_index, user_id)
        on v.message_id = k.message_id and v.chunk_index = k.chunk_index
      where v.user_id <> k.user_id`)
  }
  if (byId.length > 0) {
    parts.push(sql`select v.id::text as key from ${chatVectors} v
      join unnest(${array(byId.map((v) => v.id!))}::uuid[],
                  ${array(byId.map((v) => v.userId))}::uuid[]) as k(id, user_id)
        on v.id = k.id
      where v.user_id <> k.user_id`)
  }
  if (parts.length === 0) return undefined
  return sql`${sql.join(parts, sql` union all `)} limit 1`
}

/** The `CONFLICT` an upsert that would take over another user's chunk fails with. @internal */
export function otherOwnerConflict(count?: number): StratumError {
  const which = count === undefined ? 'an item' : `${count} item(s)`
  return new StratumError(
    'CONFLICT',
    `chat_vectors.upsert: ${which} would overwrite another user's vectors; nothing was stored`,
  )
}
