import { sql } from 'drizzle-orm'

/** How similarity is measured. */
export type DistanceMetric = 'cosine' | 'l2' | 'inner_product'

/** What each metric needs in SQL, and how its distance becomes a score. @internal */
export interface MetricSpec {
  /** The pgvector distance operator; searches order by it directly so an index serves them. */
  readonly operator: ReturnType<typeof sql.raw>
  /** The operator class an index needs to serve this metric (`vector_cosine_ops`, ...). */
  readonly operatorClass: string
  /** Higher is more similar. */
  score(distance: number): number
  /** The largest distance whose score is still at least `minScore`. */
  maxDistance(minScore: number): number
}

/**
 * Cosine: distance in [0, 2], score 1 - distance (the cosine similarity). L2: score
 * 1 / (1 + distance). Inner product: pgvector's `<#>` is the negative inner product, so the
 * score is the inner product itself.
 * @internal
 */
export const METRICS: Record<DistanceMetric, MetricSpec> = {
  cosine: {
    operator: sql.raw('<=>'),
    operatorClass: 'vector_cosine_ops',
    score: (d) => 1 - d,
    maxDistance: (s) => 1 - s,
  },
  l2: {
    operator: sql.raw('<->'),
    operatorClass: 'vector_l2_ops',
    score: (d) => 1 / (1 + d),
    maxDistance: (s) => (s <= 0 ? Number.POSITIVE_INFINITY : 1 / s - 1),
  },
  inner_product: {
    operator: sql.raw('<#>'),
    operatorClass: 'vector_ip_ops',
    score: (d) => -d,
    maxDistance: (s) => -s,
  },
}
