import type { DatabaseConnection } from './connection.js'

/** How `chat_vectors` is laid out in a database. */
export interface VectorTableShape {
  /** The dimension of `embedding`. */
  readonly dimensions: number
  /** Its hash partitions by `user_id`; 0 when the table is not partitioned. */
  readonly partitions: number
  /** `pg_get_partkeydef` of a partitioned table (`HASH (user_id)`), else null. */
  readonly partitionKey: string | null
}

/**
 * The shape of `chat_vectors` in the database, or `undefined` when the table does not
 * exist yet (not migrated).
 * @internal
 */
export async function readVectorTable(
  connection: Pick<DatabaseConnection, 'query'>,
): Promise<VectorTableShape | undefined> {
  const rows = await connection.query<{
    dims: number
    partitions: number
    partition_key: string | null
  }>(
    `SELECT a.atttypmod AS dims,
        (SELECT count(*)::int FROM pg_inherits i WHERE i.inhparent = c.oid) AS partitions,
        CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partition_key
       FROM pg_class c
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'embedding' AND NOT a.attisdropped
      WHERE c.oid = to_regclass('chat_vectors')`,
  )
  const row = rows[0]
  if (!row || row.dims < 0) return undefined
  return {
    dimensions: Number(row.dims),
    partitions: row.partition_key ? Number(row.partitions) : 0,
    partitionKey: row.partition_key,
  }
}

/**
 * The partition count upserts need to pick their conflict keys: taken from the check at
 * connect and after migrating, or read from the catalog on first use when the table did
 * not exist then (another process may have migrated since).
 * @internal
 */
export class VectorTableLayout {
  readonly #connection: Pick<DatabaseConnection, 'query'>
  #partitions: number | undefined

  constructor(connection: Pick<DatabaseConnection, 'query'>) {
    this.#connection = connection
  }

  /** Records the shape read by the layer's check. */
  set(shape: VectorTableShape): void {
    this.#partitions = shape.partitions
  }

  /** Forgets the recorded count (the table was converted): the next use reads the catalog. */
  forget(): void {
    this.#partitions = undefined
  }

  /** The table's partition count (0: one table). */
  async partitions(): Promise<number> {
    if (this.#partitions !== undefined) return this.#partitions
    const shape = await readVectorTable(this.#connection)
    if (shape) this.#partitions = shape.partitions
    return shape?.partitions ?? 0
  }
}
