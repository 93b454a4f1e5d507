import { SingleBar } from 'cli-progress'
import type { TransferProgress } from '../ops/backup.js'

/**
 * A progress bar for a transfer on a terminal (cli-progress), or nothing when stdout is
 * not a terminal or the output is JSON. Sizes are shown in MiB.
 * @internal
 */
export function transferBar(enabled: boolean): {
  update(progress: TransferProgress): void
  stop(): void
} {
  if (!enabled || !process.stderr.isTTY) return { update() {}, stop() {} }
  const bar = new SingleBar({
    format: '{phase} [{bar}] {value}/{total} MiB',
    hideCursor: true,
    stream: process.stderr,
  })
  let started = false
  const mib = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10
  return {
    update(progress) {
      const total = mib(progress.totalBytes ?? Math.max(progress.bytes, 1))
      if (!started) {
        bar.start(total, 0, { phase: progress.phase })
        started = true
      }
      bar.setTotal(total)
      bar.update(mib(progress.bytes), { phase: progress.phase })
    },
    stop() {
      if (started) bar.stop()
    },
  }
}
