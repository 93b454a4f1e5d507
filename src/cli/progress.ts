import { SingleBar } from 'cli-progress'
import type { TransferProgress } from '../ops/backup.js'
import type { PartitionConversionProgress } from '../vector/partition-conversion.js'
import type { IndexBuildProgress } from '../vector/vector-indexes.js'

/** A progress bar that may be a no-op. @internal */
export interface ProgressBar<P> {
  update(progress: P): void
  stop(): void
}

/**
 * A cli-progress bar on stderr when it is a terminal and the output is not JSON, else a
 * bar that does nothing. `read` turns a progress report into a value, total and phase.
 */
function progressBar<P>(
  enabled: boolean,
  unit: string,
  read: (progress: P) => { value: number; total: number; phase: string },
): ProgressBar<P> {
  if (!enabled || !process.stderr.isTTY) return { update() {}, stop() {} }
  const bar = new SingleBar({
    format: `{phase} [{bar}] {value}/{total} ${unit}`,
    hideCursor: true,
    stream: process.stderr,
  })
  let started = false
  return {
    update(progress) {
      const { value, total, phase } = read(progress)
      if (!started) {
        bar.start(total, 0, { phase })
        started = true
      }
      bar.setTotal(total)
      bar.update(value, { phase })
    },
    stop() {
      if (started) bar.stop()
    },
  }
}

const mib = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10

/** A bar for a backup or restore, in MiB. @internal */
export const transferBar = (enabled: boolean): ProgressBar<TransferProgress> =>
  progressBar(enabled, 'MiB', (p) => ({
    value: mib(p.bytes),
    total: mib(p.totalBytes ?? Math.max(p.bytes, 1)),
    phase: p.phase,
  }))

/** A bar for an index build, in rows (pg_stat_progress_create_index). @internal */
export const indexBar = (enabled: boolean): ProgressBar<IndexBuildProgress> =>
  progressBar(enabled, 'rows', (p) => ({
    value: p.tuplesDone,
    total: Math.max(p.tuplesTotal, p.tuplesDone, 1),
    phase: p.phase,
  }))

/** A bar for converting chat_vectors to partitions, in rows copied. @internal */
export const partitionBar = (enabled: boolean): ProgressBar<PartitionConversionProgress> =>
  progressBar(enabled, 'rows', (p) => ({
    value: p.rowsCopied,
    total: Math.max(p.rowsTotal, p.rowsCopied, 1),
    phase: p.phase,
  }))
