import type { ByteRange } from './blob-driver.js'
import { rangeNotSatisfiable } from './blob-errors.js'

/**
 * Clips an inclusive range to an object of `size` bytes; `VALIDATION` when it starts past
 * the end (S3 answers 416 there).
 * @internal
 */
export function clipRange(key: string, range: ByteRange | undefined, size: number) {
  if (!range) return { start: 0, end: size - 1 }
  if (range.start >= size) throw rangeNotSatisfiable(key, range.start, size)
  return { start: range.start, end: Math.min(range.end ?? size - 1, size - 1) }
}
