import type { DatabaseConnection } from './connection.js'

/**
 * The dimension of `chat_vectors.embedding` in the database, or `undefined` when the
 * table does not exist yet (not migrated).
 * @internal
 */
export async function readEmbeddingDimensions(
  connection: DatabaseConnection,
): Promise<number | undefined> {
  const rows = await connection.query<{ dims: number }>(
    `SELECT a.atttypmod AS dims FROM pg_attribute a
      WHERE a.attrelid = to_regclass('chat_vectors') AND a.attname = 'embedding' AND NOT a.attisdropped`,
  )
  const dims = rows[0]?.dims
  return dims === undefined || dims < 0 ? undefined : Number(dims)
}
