import { StratumError } from '../errors.js'
import { clip } from '../util/clip.js'
import { CONTROL_CHARACTERS } from '../util/control-characters.js'

/** Longest key S3 accepts, in UTF-8 bytes; every driver uses the same limit. */
export const MAX_BLOB_KEY_BYTES = 1024

function invalid(key: string, why: string): StratumError {
  const shown = JSON.stringify(clip(key, 80))
  return new StratumError('INVALID_KEY', `Blob key ${shown} ${why}`, {
    details: { reason: why },
  })
}

// Never String(value): an object without a prototype has no toString and would throw.
function notAString(what: string, value: unknown): StratumError {
  const type = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value
  return new StratumError('INVALID_KEY', `${what} must be a string (got ${type})`, {
    details: { reason: 'is not a string' },
  })
}

/**
 * The reason `key` is unsafe, or undefined when it is fine. `allowTrailingSlash` is for
 * prefixes (`avatars/`), never for keys.
 */
function unsafeReason(key: string, allowTrailingSlash: boolean): string | undefined {
  if (key.length === 0) return 'is empty'
  if (Buffer.byteLength(key, 'utf8') > MAX_BLOB_KEY_BYTES)
    return `is longer than ${MAX_BLOB_KEY_BYTES} bytes in UTF-8`
  if (!key.isWellFormed()) return 'is not valid UTF-8 (it has a lone surrogate)'
  if (CONTROL_CHARACTERS.test(key)) return 'contains a control character'
  if (key.includes('\\')) return 'contains a backslash'
  if (key.startsWith('/')) return 'starts with /'
  const segments = key.split('/')
  if (allowTrailingSlash && segments.at(-1) === '') segments.pop()
  for (const segment of segments) {
    if (segment === '..') return 'has a .. segment'
    if (segment === '.') return 'has a . segment'
    if (segment === '') return key.endsWith('/') ? 'ends with /' : 'has an empty segment (//)'
  }
  return undefined
}

/**
 * Checks a blob key before any I/O, the same for every driver: UTF-8, 1 to 1,024 bytes,
 * `/`-separated segments none of which is empty, `.` or `..`, no leading `/`, no
 * backslash, no control character. Throws `INVALID_KEY`.
 * @internal
 */
export function assertBlobKey(key: unknown): asserts key is string {
  if (typeof key !== 'string') throw notAString('Blob key', key)
  const reason = unsafeReason(key, false)
  if (reason) throw invalid(key, reason)
}

/**
 * Checks a key prefix (for `list` or a store's `prefix` option): empty, or a key that
 * may end with `/`.
 * @internal
 */
export function assertBlobPrefix(prefix: unknown): asserts prefix is string {
  if (typeof prefix !== 'string') throw notAString('Blob key prefix', prefix)
  if (prefix === '') return
  const reason = unsafeReason(prefix, true)
  if (reason) throw invalid(prefix, `(a prefix) ${reason}`)
}
