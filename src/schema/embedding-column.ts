import { customType } from 'drizzle-orm/pg-core'

/**
 * Placeholder for the embedding dimension inside the shipped migrations. The migrator
 * replaces it with `embeddings.dimensions` when it applies a migration, so one set of
 * migration files serves every dimension and stays the single source of the shape.
 */
export const EMBEDDING_DIMENSIONS_TOKEN = '__EMBEDDING_DIMENSIONS__'

/**
 * A pgvector `vector(D)` column holding `number[]`. Its SQL type carries the dimension
 * placeholder, which only drizzle-kit reads (to generate migrations).
 */
export const embeddingVector = customType<{ data: number[]; driverData: string }>({
  dataType() {
    return `vector(${EMBEDDING_DIMENSIONS_TOKEN})`
  },
  toDriver(value) {
    return `[${value.join(',')}]`
  },
  fromDriver(value) {
    return typeof value === 'string' ? (JSON.parse(value) as number[]) : (value as number[])
  },
})

/**
 * Placeholder for the text search configuration (language) of `chat_vectors.content_tsv` in
 * the shipped migrations, replaced with `embeddings.fullTextLanguage` when applied.
 */
export const FULL_TEXT_LANGUAGE_TOKEN = '__FULL_TEXT_LANGUAGE__'

/** A Postgres `tsvector` column (read by full-text search only, never selected by default). */
export const tsvector = customType<{ data: string }>({
  dataType() {
    return 'tsvector'
  },
})
