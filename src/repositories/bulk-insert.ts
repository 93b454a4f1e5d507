import type { PgColumn, PgTable } from 'drizzle-orm/pg-core'
import { z } from 'zod'
import { ValidationError } from '../errors.js'
import type { RepositoryContext } from './repository-context.js'
import { validate, validateEach } from './validate.js'

/** Rows per INSERT of `createMany` unless its `batchSize` says otherwise. */
const DEFAULT_BATCH_ROWS = 1000
/** Postgres allows 65,535 bind parameters per statement; this leaves room. */
const MAX_PARAMETERS = 65_000

/** The options of `createMany`. */
const createManyOptionsSchema = z
  .object({
    batchSize: z.number().int().min(1).max(MAX_PARAMETERS).optional(),
    returning: z.boolean().optional(),
  })
  .strict()

/**
 * Rows per INSERT of `createMany`: the given batch size, cut so that one statement stays
 * within Postgres's parameter limit.
 */
export function bulkBatchSize(options: unknown, columnCount: number, context: string): number {
  const { batchSize } = validate(createManyOptionsSchema, options, context)
  return Math.max(
    1,
    Math.min(batchSize ?? DEFAULT_BATCH_ROWS, Math.floor(MAX_PARAMETERS / columnCount)),
  )
}

/** What the streaming insert writes to: one table, in one transaction of the repository's. */
export interface BulkTarget {
  readonly table: PgTable
  readonly pk: PgColumn
  readonly insertSchema: Parameters<typeof validateEach>[0]
  entityKey(id: unknown): string
  /** Adds the columns the table derives from the rest (see `Repository.derive`). */
  derive(rows: Record<string, unknown>[]): Promise<Record<string, unknown>[]>
  run<R>(fn: (tx: RepositoryContext) => Promise<R>): Promise<R>
}

/** `createMany(..., { returning: false })`: a batch in memory at a time, keys only kept. */
export function insertStreaming(
  target: BulkTarget,
  inputs: Iterable<unknown> | AsyncIterable<unknown>,
  batchSize: number,
  context: string,
): Promise<{ count: number }> {
  if (
    typeof inputs !== 'object' ||
    inputs === null ||
    !(Symbol.iterator in inputs || Symbol.asyncIterator in inputs)
  )
    return Promise.reject(
      new ValidationError(context, [{ path: '', message: 'must be an iterable of rows' }]),
    )
  // An error of the caller's own source (a file that cannot be read) goes up as it came,
  // not as a database error; the transaction is rolled back all the same.
  let sourceFailure: { error: unknown } | undefined
  const rows = (async function* () {
    try {
      yield* inputs as AsyncIterable<unknown>
    } catch (error) {
      sourceFailure = { error }
      throw error
    }
  })()
  return target
    .run(async (tx) => {
      let count = 0
      const keys: string[] = []
      let batch: Record<string, unknown>[] = []
      const flush = async () => {
        if (batch.length === 0) return
        const rows = (await tx.executor
          .insert(target.table)
          .values(await target.derive(batch))
          .returning({ id: target.pk })) as { id: unknown }[]
        for (const row of rows) keys.push(target.entityKey(row.id))
        count += rows.length
        batch = []
      }
      for await (const input of rows) {
        batch.push(
          validateEach(target.insertSchema, [input], context, count + batch.length)[0] as Record<
            string,
            unknown
          >,
        )
        if (batch.length >= batchSize) await flush()
      }
      await flush()
      await tx.afterCommit(keys)
      return { count }
    })
    .catch((error: unknown) => {
      throw sourceFailure ? sourceFailure.error : error
    })
}
