import type { SQL } from 'drizzle-orm'
import { v7 as uuidv7 } from 'uuid'
import type { DatabaseConnection } from '../db/connection.js'
import { StratumError } from '../errors.js'
import type { NewChatVector } from '../schema/chat-vectors.js'
import { chunkConflictKeys, otherOwnerConflict } from './chunk-keys.js'
import { dialect } from './search-rows.js'
import type { UpsertedVector } from './vector-types.js'

/** Batches at least this large are written with COPY (outside a caller's transaction). */
export const COPY_THRESHOLD = 1000

/** A value escaped for COPY's text format. */
const copyText = (value: string): string =>
  value.replace(/[\\\n\r\t]/g, (c) =>
    c === '\\' ? '\\\\' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : '\\t',
  )

/**
 * The stored rows in the order of the items, or `CONFLICT` when some were not stored
 * (their key belongs to another user's chunk, whose row the upsert must not take over).
 */
export function inInputOrder(
  items: readonly NewChatVector[],
  stored: readonly UpsertedVector[],
): UpsertedVector[] {
  const context = 'chat_vectors.upsert'
  if (stored.length !== items.length) throw otherOwnerConflict(items.length - stored.length)
  const byKey = new Map(
    stored.map((s) => [s.messageId ? `${s.messageId}:${s.chunkIndex}` : s.id, s]),
  )
  return items.map((v) => {
    const row = byKey.get(v.messageId ? `${v.messageId}:${v.chunkIndex ?? 0}` : v.id!)
    if (!row) throw new StratumError('DATABASE', `${context}: a stored chunk went missing`)
    return row
  })
}

/**
 * Writes a large batch with COPY in a transaction of its own: fresh chunks straight into the
 * table; the rest through a staging table and one merge per conflict key, after the
 * other-owner check.
 */
export async function upsertByCopy(
  connection: DatabaseConnection,
  values: readonly NewChatVector[],
  partitioned: boolean,
  otherOwnerCheck: SQL | undefined,
  dimensions: number,
): Promise<UpsertedVector[]> {
  const keys = chunkConflictKeys(partitioned)
  // Fresh chunks only (no message key, no id of the caller's): nothing can conflict, so
  // they are copied straight into the table instead of through the staging table.
  const fresh = values.every((v) => !v.messageId && !v.id)
  const staged = values.map((v) => (v.id ? v : { ...v, id: uuidv7() }))
  function* lines(withOrder: boolean): Generator<string> {
    for (let start = 0; start < staged.length; start += 500) {
      let chunk = ''
      for (let i = start; i < Math.min(start + 500, staged.length); i++) {
        const v = staged[i]!
        chunk += `${[
          ...(withOrder ? [i] : []),
          v.id,
          v.userId,
          v.chatId ?? '\\N',
          v.messageId ?? '\\N',
          v.chunkIndex ?? 0,
          copyText(v.content),
          `[${v.embedding.join(',')}]`,
          copyText(JSON.stringify(v.metadata ?? {})),
        ].join('\t')}\n`
      }
      yield chunk
    }
  }
  const columns = 'id, user_id, chat_id, message_id, chunk_index, content, embedding, metadata'
  const merge = (which: string, target: string) => `
    insert into chat_vectors (${columns})
    select ${columns} from stratum_vector_staging where ${which} order by ord
    on conflict (${target}) do update set content = excluded.content,
      embedding = excluded.embedding, metadata = excluded.metadata,
      chat_id = excluded.chat_id, updated_at = now()
      where chat_vectors.user_id = excluded.user_id
    returning id, message_id, chunk_index`
  return connection.withCopyTransaction(async (session) => {
    if (fresh) {
      await session.copyFrom(`chat_vectors (${columns})`, lines(false))
      return staged.map((v) => ({ id: v.id!, messageId: null, chunkIndex: v.chunkIndex ?? 0 }))
    }
    await session.query(`create temp table stratum_vector_staging (
        ord int not null, id uuid not null, user_id uuid not null, chat_id uuid,
        message_id uuid, chunk_index int not null, content text not null,
        embedding vector(${dimensions}) not null, metadata jsonb not null
      ) on commit drop`)
    await session.copyFrom(`stratum_vector_staging (ord, ${columns})`, lines(true))
    if (otherOwnerCheck) {
      const check = dialect.sqlToQuery(otherOwnerCheck)
      if ((await session.query(check.sql, check.params)).length > 0) throw otherOwnerConflict()
    }
    type Returned = { id: string; message_id: string | null; chunk_index: number }
    const rows = [
      ...(await session.query<Returned>(merge('message_id is not null', keys.byMessageSql))),
      ...(await session.query<Returned>(merge('message_id is null', keys.byIdSql))),
    ]
    return inInputOrder(
      staged,
      rows.map((r) => ({ id: r.id, messageId: r.message_id, chunkIndex: Number(r.chunk_index) })),
    )
  })
}
