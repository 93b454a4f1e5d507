import type { MetadataFilter } from './metadata-filter.js'
import type { DistanceMetric } from './metrics.js'

/** Arguments of `vectors.search`. */
export interface VectorSearchOptions {
  /** The query embedding (same dimension as configured). */
  embedding: number[]
  /** The tenant: only this user's vectors are searched. Required unless `scope: 'all'`. */
  userId?: string | undefined
  /** `'all'` searches every user's vectors (explicitly; for admin tools and evaluation). */
  scope?: 'user' | 'all' | undefined
  /** Restrict to one chat. */
  chatId?: string | undefined
  /** A condition on the chunks' metadata; keys and values are always bound parameters. */
  filter?: MetadataFilter | undefined
  /** How many results (default 10, at most 1,000). */
  limit?: number | undefined
  /** Results to skip first (default 0, at most 10,000). */
  offset?: number | undefined
  /** cosine (default), l2 or inner_product. */
  metric?: DistanceMetric | undefined
  /** Only results scoring at least this much (see {@link VectorSearchHit.score}). */
  minScore?: number | undefined
  /** HNSW candidate list size (default: the larger of 100 and limit + offset). */
  efSearch?: number | undefined
  /**
   * When the user, chat and metadata conditions leave at most this many rows, they are
   * ranked exactly instead of through the index (default 2,000; 0 turns it off).
   */
  exactSearchBelow?: number | undefined
  /**
   * `'primary'` searches the primary (sees every committed write); `'replica'` (default)
   * lets a replica serve it when replicas are configured.
   */
  consistency?: 'primary' | 'replica' | undefined
}

/** Which way a search ran. */
export interface VectorSearchPlan {
  /** `index`: the metric's HNSW/IVFFlat index with iterative scan; `exact`: every candidate ranked. */
  readonly path: 'index' | 'exact'
  /** Rows the conditions left, counted up to `exactSearchBelow` + 1 (undefined: not counted). */
  readonly candidates: number | undefined
  readonly efSearch: number
  readonly metric: DistanceMetric
  /** Postgres's `EXPLAIN` of the ranking query, one line per entry. */
  readonly postgresPlan: readonly string[]
  /**
   * The indexes the plan scans, by the names `indexes()` lists: on a partitioned table a
   * partition's own index is named by the index of `chat_vectors` it belongs to.
   */
  readonly indexes: readonly string[]
}

/** A stored chunk as searches return it. */
export interface VectorChunk {
  readonly id: string
  readonly content: string
  readonly metadata: Record<string, unknown>
  readonly chatId: string | null
  readonly messageId: string | null
  readonly chunkIndex: number
}

/** One search result, best first. */
export interface VectorSearchHit extends VectorChunk {
  /** The metric's distance (cosine: 0 = same direction, 2 = opposite). */
  readonly distance: number
  /** Higher is more similar: cosine 1 - distance, l2 1 / (1 + distance), inner product itself. */
  readonly score: number
}

/** What `vectors.upsert` returns per stored item, in input order. */
export interface UpsertedVector {
  readonly id: string
  readonly messageId: string | null
  readonly chunkIndex: number
}

/** Arguments of `vectors.hybridSearch`: those of `search` plus the query text. */
export interface HybridSearchOptions extends Omit<VectorSearchOptions, 'minScore' | 'offset'> {
  /** The words to look for (web search syntax: quotes, `or`, `-word`). */
  text: string
  /** Reciprocal rank fusion constant (default 60). */
  rrfK?: number | undefined
  /** Weight of each list in the fusion (default 1 and 1). */
  weights?: { vector?: number | undefined; text?: number | undefined } | undefined
  /** Rows ranked by each side before fusion (default: the larger of 40 and 4 x limit). */
  candidates?: number | undefined
}

/** One hybrid search result, best fused score first. */
export interface HybridSearchHit extends VectorChunk {
  /** The reciprocal rank fusion score. */
  readonly score: number
  /** 1-based rank in the vector list, or null when only the text matched. */
  readonly vectorRank: number | null
  /** 1-based rank in the full-text list, or null when only the vector matched. */
  readonly textRank: number | null
  /** The metric's distance when the vector list had it. */
  readonly distance: number | null
}

/** Options of `vectors.measureRecall`. */
export interface RecallOptions {
  /** How many stored vectors to use as queries (default 50, at most 1,000). */
  sample?: number | undefined
  /** k of recall@k (default 10). */
  limit?: number | undefined
  metric?: DistanceMetric | undefined
  /** The ef_search to measure (default: what search uses). */
  efSearch?: number | undefined
  /** Scope each query to its vector's user (default false: every user). */
  perUser?: boolean | undefined
  /**
   * Draw the same sample on every call with the same seed (while the rows do not change),
   * so settings can be compared on the same queries; default: a new random sample.
   */
  seed?: number | undefined
}

/** What `vectors.measureRecall` found. */
export interface RecallReport {
  /** Mean over the queries of |indexed ∩ exact| / |exact|. */
  readonly recall: number
  readonly queries: number
  readonly limit: number
  readonly metric: DistanceMetric
  readonly efSearch: number
}

/** Which vectors `vectors.delete` removes: exactly one selector. */
export type VectorSelector =
  | { readonly ids: readonly string[] }
  | { readonly messageId: string }
  | { readonly chatId: string }
  | { readonly userId: string }
