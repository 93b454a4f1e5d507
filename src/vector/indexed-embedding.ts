import { type SQL, sql } from 'drizzle-orm'
import { chatVectors } from '../schema/chat-vectors.js'
import { type DistanceMetric, METRICS } from './metrics.js'

/** The most dimensions pgvector indexes on a `vector` column (HNSW and IVFFlat). */
export const VECTOR_INDEX_MAX_DIMENSIONS = 2000

/**
 * What the vector indexes are built on, and what searches order by so that they are used:
 * the `embedding` column itself up to 2,000 dimensions; above that (up to 4,000) the
 * expression `embedding::halfvec(N)`, since pgvector indexes `halfvec` (16-bit floats) up to
 * 4,000 dimensions and `vector` only up to 2,000. The column keeps full precision either way.
 * @internal
 */
export interface IndexedEmbedding {
  /** True when indexes and index searches use `halfvec(N)`. */
  readonly halfvec: boolean
  /** The indexed expression in a query. */
  readonly expression: SQL
  /** The same, as DDL text in `CREATE INDEX ... (<ddl> <opclass>)`. */
  readonly ddl: string
  /** A query vector literal cast to the indexed type. */
  cast(literal: string): SQL
  /** The operator class an index of this metric needs. */
  operatorClass(metric: DistanceMetric): string
}

/** The indexed embedding for a configured dimension. @internal */
export function indexedEmbedding(dimensions: number): IndexedEmbedding {
  if (!Number.isInteger(dimensions) || dimensions < 1)
    throw new Error(`bad embedding dimension ${dimensions}`)
  if (dimensions <= VECTOR_INDEX_MAX_DIMENSIONS) {
    return {
      halfvec: false,
      expression: sql`${chatVectors.embedding}`,
      ddl: 'embedding',
      cast: (literal) => sql`${literal}::vector`,
      operatorClass: (metric) => METRICS[metric].operatorClass,
    }
  }
  const type = `halfvec(${dimensions})`
  return {
    halfvec: true,
    expression: sql`(${chatVectors.embedding}::${sql.raw(type)})`,
    ddl: `(embedding::${type})`,
    cast: (literal) => sql`${literal}::${sql.raw(type)}`,
    operatorClass: (metric) => METRICS[metric].operatorClass.replace(/^vector_/, 'halfvec_'),
  }
}

/**
 * The core migration's HNSW index statement, and what it becomes above 2,000 dimensions.
 * The shipped migration is not edited (its hash is recorded where it was applied); the
 * migrator rewrites the statement when it applies it.
 * @internal
 */
export function coreIndexRewrite(dimensions: number): { from: string; to: string } | undefined {
  if (dimensions <= VECTOR_INDEX_MAX_DIMENSIONS) return undefined
  return {
    from: 'USING hnsw ("embedding" vector_cosine_ops)',
    to: `USING hnsw (("embedding"::halfvec(${dimensions})) halfvec_cosine_ops)`,
  }
}
