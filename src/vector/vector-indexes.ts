import { z } from 'zod'
import type { DatabaseConnection, SqlSession } from '../db/connection.js'
import { mapIfDatabaseError } from '../db/map-database-error.js'
import { validate } from '../repositories/validate.js'
import type { IndexedEmbedding } from './indexed-embedding.js'
import { type DistanceMetric, METRICS } from './metrics.js'

/** Options of `vectors.ensureIndex`. */
export interface EnsureIndexOptions {
  /** `hnsw` (default; better recall per query time) or `ivfflat` (faster to build). */
  type?: 'hnsw' | 'ivfflat' | undefined
  /** The metric the index serves (default cosine). Searches pick it by operator class. */
  metric?: DistanceMetric | undefined
  /** HNSW: connections per node (default 16). */
  m?: number | undefined
  /** HNSW: candidate list while building (default 64). */
  efConstruction?: number | undefined
  /** IVFFlat: number of lists (default rows / 1000, at least 10; build after loading data). */
  lists?: number | undefined
  /** `maintenance_work_mem` for the build on a server (default '256MB'). */
  maintenanceWorkMem?: string | undefined
  /** Called about twice a second with the build's progress (servers only). */
  onProgress?: ((progress: IndexBuildProgress) => void) | undefined
}

/** One report of `pg_stat_progress_create_index`. */
export interface IndexBuildProgress {
  readonly phase: string
  readonly tuplesDone: number
  readonly tuplesTotal: number
  readonly blocksDone: number
  readonly blocksTotal: number
  /**
   * On a hash-partitioned table, where one index per partition is built in turn: the
   * partition being built and how many of all are done (the counts above are its own).
   */
  readonly partition?: { readonly name: string; readonly done: number; readonly total: number }
}

/** A vector index on `chat_vectors.embedding`. */
export interface VectorIndex {
  readonly name: string
  readonly type: 'hnsw' | 'ivfflat'
  readonly metric: DistanceMetric | undefined
  /** Build options (`m`, `ef_construction`, `lists`) as stored. */
  readonly options: Readonly<Record<string, string>>
  /** False for an index whose concurrent build failed (unusable until rebuilt). */
  readonly valid: boolean
}

const ensureSchema = z
  .object({
    type: z.enum(['hnsw', 'ivfflat']).default('hnsw'),
    metric: z.enum(['cosine', 'l2', 'inner_product']).default('cosine'),
    m: z.number().int().min(2).max(100).optional(),
    efConstruction: z.number().int().min(4).max(1000).optional(),
    lists: z.number().int().min(1).max(32_768).optional(),
    maintenanceWorkMem: z
      .string()
      .regex(/^\d{1,7}\s?(kB|MB|GB)$/, "must look like '256MB'")
      .default('256MB'),
    onProgress: z
      .custom<(p: IndexBuildProgress) => void>((v) => typeof v === 'function')
      .optional(),
  })
  .strict()

const OPERATOR_CLASSES = new Map(
  Object.entries(METRICS).flatMap(([metric, spec]) => [
    [spec.operatorClass, metric as DistanceMetric],
    [spec.operatorClass.replace(/^vector_/, 'halfvec_'), metric as DistanceMetric],
  ]),
)

/**
 * Lists, builds and drops the vector indexes of `chat_vectors.embedding`. Builds run
 * `CONCURRENTLY` on a server (writes continue), one at a time with migrations.
 * @internal
 */
export class VectorIndexes {
  readonly #connection: Pick<DatabaseConnection, 'kind' | 'query' | 'withMigrationLock'>

  readonly #indexed: IndexedEmbedding

  constructor(
    connection: Pick<DatabaseConnection, 'kind' | 'query' | 'withMigrationLock'>,
    indexed: IndexedEmbedding,
  ) {
    this.#connection = connection
    this.#indexed = indexed
  }

  async list(): Promise<VectorIndex[]> {
    const rows = await this.#run(() =>
      this.#connection.query<{
        name: string
        method: string
        opclass: string
        options: string[] | null
        valid: boolean
      }>(
        `select c.relname as name, am.amname as method, oc.opcname as opclass,
           c.reloptions as options, i.indisvalid as valid
         from pg_index i
         join pg_class c on c.oid = i.indexrelid
         join pg_am am on am.oid = c.relam
         join pg_opclass oc on oc.oid = i.indclass[0]
         -- The column itself, or (above 2,000 dimensions) the expression embedding::halfvec(N).
         where i.indrelid = 'chat_vectors'::regclass
           and ltrim(pg_get_indexdef(i.indexrelid, 1, true), '(') ~ '^embedding($|::)'
           and am.amname in ('hnsw', 'ivfflat')
         order by c.relname`,
      ),
    )
    return rows.map((row) => ({
      name: row.name,
      type: row.method as 'hnsw' | 'ivfflat',
      metric: OPERATOR_CLASSES.get(row.opclass),
      options: Object.fromEntries(
        (row.options ?? []).map((o) => {
          const at = o.indexOf('=')
          return [o.slice(0, at), o.slice(at + 1)]
        }),
      ),
      valid: row.valid,
    }))
  }

  async ensure(options: EnsureIndexOptions): Promise<{ name: string; created: boolean }> {
    const wanted = validate(ensureSchema, options, 'chat_vectors.ensureIndex')
    const existing = (await this.list()).find(
      (index) => index.type === wanted.type && index.metric === wanted.metric,
    )
    if (existing?.valid) return { name: existing.name, created: false }
    const name = existing?.name ?? `chat_vectors_embedding_${wanted.metric}_${wanted.type}_idx`
    const server = this.#connection.kind === 'postgres'
    const partitions = await this.#run(() => this.#partitions())
    const opclass = this.#indexed.operatorClass(wanted.metric)
    const withOptions =
      wanted.type === 'hnsw'
        ? `with (m = ${wanted.m ?? 16}, ef_construction = ${wanted.efConstruction ?? 64})`
        : `with (lists = ${wanted.lists ?? (await this.#defaultLists(partitions.length))})`
    const method = `using ${wanted.type} (${this.#indexed.ddl} ${opclass}) ${withOptions}`
    await this.#run(() =>
      this.#connection.withMigrationLock(async (session) => {
        if (server) await session.query(`set maintenance_work_mem = '${wanted.maintenanceWorkMem}'`)
        if (server && partitions.length > 0) {
          await this.#ensurePerPartition(session, name, method, partitions, wanted.onProgress)
        } else {
          const concurrently = server ? 'concurrently ' : ''
          // A failed concurrent build leaves an invalid index behind: replace it.
          if (existing && !existing.valid)
            await session.query(`drop index ${concurrently}if exists "${name}"`)
          await this.#withProgress(wanted.onProgress, ['chat_vectors'], () =>
            session.query(
              `create index ${concurrently}if not exists "${name}" on chat_vectors ${method}`,
            ),
          )
        }
        if (server) await session.query('reset maintenance_work_mem')
      }),
    )
    return { name, created: true }
  }

  /**
   * `CREATE INDEX CONCURRENTLY` does not take a partitioned table, so, as the Postgres
   * manual describes: the index is made on the parent alone (`ON ONLY`, invalid, no
   * build), then built concurrently on each partition and attached; with the last one
   * attached the parent index is valid. Writes continue throughout, and a build that was
   * interrupted is resumed where it stopped (partitions already attached are kept).
   */
  async #ensurePerPartition(
    session: Pick<SqlSession, 'query'>,
    name: string,
    method: string,
    partitions: readonly string[],
    onProgress: ((progress: IndexBuildProgress) => void) | undefined,
  ): Promise<void> {
    await session.query(`create index if not exists "${name}" on only chat_vectors ${method}`)
    const attached = new Set(
      (
        await session.query<{ partition: string }>(
          `select t.relname as partition from pg_inherits h
             join pg_index i on i.indexrelid = h.inhrelid
             join pg_class t on t.oid = i.indrelid
            where h.inhparent = $1::regclass`,
          [`"${name}"`],
        )
      ).map((row) => row.partition),
    )
    let done = attached.size
    for (const partition of partitions) {
      if (attached.has(partition)) continue
      const child = `${partition}_${name.replace(/^chat_vectors_/, '')}`.slice(0, 63)
      const [state] = await session.query<{ valid: boolean }>(
        `select i.indisvalid as valid from pg_index i where i.indexrelid = to_regclass($1)`,
        [`"${child}"`],
      )
      if (state && !state.valid) await session.query(`drop index concurrently "${child}"`)
      if (!state?.valid) {
        const report =
          onProgress &&
          ((p: IndexBuildProgress) =>
            onProgress({ ...p, partition: { name: partition, done, total: partitions.length } }))
        await this.#withProgress(report, [partition], () =>
          session.query(
            `create index concurrently if not exists "${child}" on "${partition}" ${method}`,
          ),
        )
      }
      await session.query(`alter index "${name}" attach partition "${child}"`)
      done += 1
    }
  }

  async drop(name: string): Promise<boolean> {
    const index = (await this.list()).find((i) => i.name === name)
    if (!index) return false
    // DROP INDEX CONCURRENTLY does not take a partitioned index.
    const partitioned = (await this.#partitions()).length > 0
    const concurrently = this.#connection.kind === 'postgres' && !partitioned ? 'concurrently ' : ''
    await this.#run(() =>
      this.#connection.withMigrationLock((session: SqlSession) =>
        // The name comes from the catalog listing above, never from the caller as SQL.
        session.query(`drop index ${concurrently}if exists "${index.name.replaceAll('"', '""')}"`),
      ),
    )
    return true
  }

  /** The partitions of `chat_vectors` by name, in order; none when it is one table. */
  async #partitions(): Promise<string[]> {
    const rows = await this.#connection.query<{ name: string }>(
      `select c.relname as name from pg_inherits h join pg_class c on c.oid = h.inhrelid
        where h.inhparent = 'chat_vectors'::regclass
        order by length(c.relname), c.relname`,
    )
    return rows.map((row) => row.name)
  }

  /** Rows / 1000 (at least 10), of one partition where each gets its own index. */
  async #defaultLists(partitions: number): Promise<number> {
    const [row] = await this.#connection.query<{ n: number }>(
      'select count(*)::int as n from chat_vectors',
    )
    return Math.max(10, Math.round((row?.n ?? 0) / Math.max(1, partitions) / 1000))
  }

  async #withProgress<T>(
    onProgress: ((progress: IndexBuildProgress) => void) | undefined,
    tables: readonly string[],
    build: () => Promise<T>,
  ): Promise<T> {
    if (!onProgress || this.#connection.kind !== 'postgres') return build()
    const poll = async () => {
      const [row] = await this.#connection
        .query<{
          phase: string
          tuples_done: string
          tuples_total: string
          blocks_done: string
          blocks_total: string
        }>(
          `select phase, tuples_done, tuples_total, blocks_done, blocks_total
           from pg_stat_progress_create_index where relid = any($1::regclass[])`,
          [tables.map((t) => `"${t}"`)],
        )
        .catch(() => [])
      if (!row) return
      try {
        onProgress({
          phase: row.phase,
          tuplesDone: Number(row.tuples_done),
          tuplesTotal: Number(row.tuples_total),
          blocksDone: Number(row.blocks_done),
          blocksTotal: Number(row.blocks_total),
        })
      } catch {
        // A failing callback must not break the build.
      }
    }
    const timer = setInterval(() => void poll(), 500)
    try {
      return await build()
    } finally {
      clearInterval(timer)
    }
  }

  async #run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (error) {
      throw mapIfDatabaseError(error, 'chat_vectors.indexes')
    }
  }
}
