import { and, eq, type SQL, sql } from 'drizzle-orm'
import { PgDialect } from 'drizzle-orm/pg-core'
import { ValidationError } from '../errors.js'
import { chatVectors } from '../schema/chat-vectors.js'
import { compileMetadataFilter, type MetadataFilter } from './metadata-filter.js'
import type { VectorChunk } from './vector-types.js'

/** Compiles SQL to text and parameters for a raw session. */
export const dialect = new PgDialect()

/** The columns every search selects for a result. */
export type ChunkRow = {
  id: string
  content: string
  metadata: Record<string, unknown>
  chat_id: string | null
  message_id: string | null
  chunk_index: number
}

/** The select list of a search's result columns. */
export const chunkColumns = sql`${chatVectors.id} as id, ${chatVectors.content} as content,
  ${chatVectors.metadata} as metadata, ${chatVectors.chatId} as chat_id,
  ${chatVectors.messageId} as message_id, ${chatVectors.chunkIndex} as chunk_index`

/** A result row as the public chunk shape. */
export const chunkOf = (row: ChunkRow): VectorChunk => ({
  id: row.id,
  content: row.content,
  metadata: row.metadata,
  chatId: row.chat_id,
  messageId: row.message_id,
  chunkIndex: Number(row.chunk_index),
})

/** The tenant, chat and metadata conditions of a search, as SQL (bound parameters only). */
export function conditionsOf(
  query: {
    userId?: string | undefined
    chatId?: string | undefined
    filter?: MetadataFilter | undefined
  },
  operation: string,
): SQL | undefined {
  let filter: SQL | undefined
  try {
    filter = query.filter && compileMetadataFilter(chatVectors.metadata, query.filter)
  } catch (error) {
    throw new ValidationError(operation, [{ path: 'filter', message: (error as Error).message }])
  }
  return and(
    query.userId !== undefined ? eq(chatVectors.userId, query.userId) : undefined,
    query.chatId !== undefined ? eq(chatVectors.chatId, query.chatId) : undefined,
    filter,
  )
}

/** The index names in EXPLAIN lines (index, index-only and bitmap index scans). */
export function scannedIndexes(plan: readonly string[]): string[] {
  const names = plan.flatMap((line) =>
    [
      ...line.matchAll(/(?:Index (?:Only )?Scan(?: Backward)? using|Bitmap Index Scan on) (\S+)/g),
    ].map((m) => m[1]!),
  )
  return [...new Set(names)]
}
