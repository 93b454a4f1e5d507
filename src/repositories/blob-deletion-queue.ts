import { asc, inArray } from 'drizzle-orm'
import type { Executor } from '../db/connection.js'
import type { Logger } from '../db/query-observer.js'
import { blobDeletions } from '../schema/chat-attachments.js'
import type { BlobStore } from '../storage/blob-store.js'
import { appendAll } from '../util/append-all.js'

/** Keys taken from the queue per round. */
const BATCH = 1000

/** What one drain did. */
export interface DrainResult {
  /** Blob keys deleted (their queue entries with them). */
  readonly deleted: string[]
  /** Keys the blob store could not delete: they stay queued for the next drain. */
  readonly failed: number
}

/**
 * Deletes the blobs queued in `blob_deletions` (by the triggers that delete attachment rows),
 * then their queue entries: a key leaves the queue only after its blob is gone, so a crash
 * between the two deletes the blob again next time (a missing blob is not an error). Two
 * drains at once may delete a key twice, which is harmless. Rounds of 1,000 until the queue
 * is empty or a round deleted nothing.
 * @internal
 */
export async function drainBlobDeletions(
  executor: Executor,
  blobs: BlobStore,
): Promise<DrainResult> {
  const deleted: string[] = []
  let failed = 0
  for (;;) {
    const queued = await executor
      .select({ key: blobDeletions.key })
      .from(blobDeletions)
      .orderBy(asc(blobDeletions.queuedAt))
      .limit(BATCH)
    if (queued.length === 0) return { deleted, failed }
    const keys = queued.map((row) => row.key)
    const result = await blobs.deleteMany(keys)
    const failedKeys = new Set(result.errors.map((error) => error.key))
    const done = keys.filter((key) => !failedKeys.has(key))
    if (done.length > 0)
      await executor.delete(blobDeletions).where(inArray(blobDeletions.key, done))
    appendAll(deleted, done)
    failed += failedKeys.size
    if (done.length === 0 || queued.length < BATCH) return { deleted, failed }
  }
}

/**
 * {@link drainBlobDeletions} after a write that committed: a failure (the blob store down)
 * is logged, not thrown, since the write itself succeeded and the keys stay queued for
 * `data.attachments.sweep()`.
 * @internal
 */
export async function drainAfterWrite(
  executor: Executor,
  blobs: BlobStore,
  logger: Logger | undefined,
): Promise<void> {
  try {
    const result = await drainBlobDeletions(executor, blobs)
    if (result.failed > 0)
      logger?.warn(
        { failed: result.failed },
        'stratum-data: some blobs of deleted rows could not be deleted; they stay queued for data.attachments.sweep()',
      )
  } catch (error) {
    logger?.warn(
      { err: error instanceof Error ? error.message : String(error) },
      'stratum-data: deleting the blobs of deleted rows failed; they stay queued for data.attachments.sweep()',
    )
  }
}
