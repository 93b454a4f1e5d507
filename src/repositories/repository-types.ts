import type { Where } from './filters.js'
import type { SortDirection } from './keyset.js'

/** Default and largest page sizes of `findMany` and `findPage`. */
export const DEFAULT_PAGE_SIZE = 50
/** Largest `limit` a list read accepts. */
export const MAX_PAGE_SIZE = 1000

/** Ordering of a list read: column -> direction, applied in key order. */
export type OrderBy<TRow> = { [K in keyof TRow]?: SortDirection }

/** Where a read outside a transaction may be served when replicas are configured. */
export interface ReadOptions {
  /**
   * `'primary'` reads the primary, so the caller sees every write committed before the
   * call; `'replica'` (the default) lets a replica that is up serve it (it may lag the
   * primary by its replication delay). Cached reads are never stale either way: a cache
   * entry is filled from the primary and dropped after each write's commit.
   */
  consistency?: 'primary' | 'replica' | undefined
}

/** Arguments of `findMany`. */
export interface FindManyOptions<TRow> extends ReadOptions {
  where?: Where<TRow>
  orderBy?: OrderBy<TRow>
  /** At most this many rows (default 50, at most 1000). */
  limit?: number
}

/** Arguments of `findPage`: `findMany`'s plus the cursor of the previous page. */
export interface FindPageOptions<TRow> extends FindManyOptions<TRow> {
  /** `nextCursor` of the previous page; absent for the first page. */
  cursor?: string | null | undefined
}

/** One page of a keyset-paginated read. */
export interface Page<TRow> {
  readonly items: TRow[]
  /** Pass to the next call to continue after the last item; null on the last page. */
  readonly nextCursor: string | null
}

/** Options of `upsert`. */
export interface UpsertOptions<TRow> {
  /** Columns of the unique constraint to resolve conflicts on (default: the primary key). */
  target?: (keyof TRow & string)[]
}
