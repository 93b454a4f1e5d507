import { z } from 'zod'

/**
 * Largest embedding dimension: pgvector indexes `halfvec` up to 4,000 dimensions (and
 * `vector` up to 2,000), so above 2,000 the indexes are built on `embedding::halfvec(N)`.
 */
export const MAX_INDEXED_DIMENSIONS = 4000

/** The most hash partitions `embeddings.partitions` may ask for. */
export const MAX_VECTOR_PARTITIONS = 1024

/** The `embeddings` options: the dimension, the full-text language, hash partitions. */
export const embeddingsSchema = z
  .object({
    dimensions: z.number().int().min(1).max(MAX_INDEXED_DIMENSIONS).default(1536),
    /**
     * Text search configuration of `content_tsv` (hybrid search), fixed when the
     * migration is applied: 'english', 'simple', 'german', ...
     */
    fullTextLanguage: z
      .string()
      .regex(/^[a-z_]{1,63}$/, 'must be a text search configuration name such as english')
      .default('english'),
    /**
     * Hash partitions of `chat_vectors` by `user_id` (2 to 1,024), fixed when the
     * migration creates the table; each partition gets its own vector indexes. Unset: a
     * new table is not partitioned, and an existing one is used as it is.
     */
    partitions: z
      .number()
      .int()
      .min(2, 'must be at least 2 (leave it unset for one table)')
      .max(MAX_VECTOR_PARTITIONS)
      .optional(),
  })
  .strict()
  .prefault({})
