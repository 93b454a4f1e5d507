import type { MigrationRewrite } from '../db/migrator.js'

/** drizzle-kit's statement separator: a rewrite may turn one statement into several. */
const BREAKPOINT = '\n--> statement-breakpoint\n'

/** The name of partition `remainder` of `chat_vectors`. */
export const partitionName = (remainder: number): string => `chat_vectors_p${remainder}`

/**
 * What the core migration's `CREATE TABLE "chat_vectors"` becomes with `partitions` hash
 * partitions by `user_id`. A partitioned table's unique constraints must contain the
 * partition key, so the primary key is `(id, user_id)` and the message key
 * `(message_id, chunk_index, user_id)`: `id` and `message_id` stay the leading columns, so
 * lookups by them alone still use an index in each partition. Everything after this
 * statement (foreign keys, the btree, GIN and HNSW indexes, the generated `content_tsv`)
 * applies to the partitioned table as shipped: Postgres creates each index on every
 * partition. Like the halfvec rewrite, the shipped migration is not edited.
 * @internal
 */
export function partitionedTableRewrites(partitions: number): MigrationRewrite[] {
  if (!Number.isInteger(partitions) || partitions < 2)
    throw new Error(`bad partition count ${partitions}`)
  const children = Array.from(
    { length: partitions },
    (_, i) =>
      `CREATE TABLE "${partitionName(i)}" PARTITION OF "chat_vectors" FOR VALUES WITH (MODULUS ${partitions}, REMAINDER ${i});`,
  )
  return [
    {
      from: 'CREATE TABLE "chat_vectors" (\n\t"id" uuid PRIMARY KEY DEFAULT',
      to: 'CREATE TABLE "chat_vectors" (\n\t"id" uuid DEFAULT',
    },
    {
      from: 'CONSTRAINT "chat_vectors_message_chunk_key" UNIQUE("message_id","chunk_index")\n);',
      to: [
        'CONSTRAINT "chat_vectors_pkey" PRIMARY KEY("id","user_id"),\n\t' +
          'CONSTRAINT "chat_vectors_message_chunk_key" UNIQUE("message_id","chunk_index","user_id")\n' +
          ') PARTITION BY HASH ("user_id");',
        ...children,
      ].join(BREAKPOINT),
    },
  ]
}
