import { ValidationError } from '../errors.js'
import type { BlobListItem, BlobPage } from './blob-driver.js'

/** Orders keys as S3 does: by their UTF-8 bytes. @internal */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))
}

function encodeCursor(last: string): string {
  return Buffer.from(last, 'utf8').toString('base64url')
}

function decodeCursor(cursor: string): string {
  const last = Buffer.from(cursor, 'base64url').toString('utf8')
  if (last === '' || encodeCursor(last) !== cursor)
    throw new ValidationError('list', [
      { path: 'cursor', message: 'is not one returned by this store' },
    ])
  return last
}

/** What {@link pageOf} needs of the listing request. @internal */
export interface PageRequest {
  readonly prefix: string
  readonly delimiter?: string | undefined
  readonly cursor?: string | undefined
  readonly limit: number
}

/**
 * One page of a listing over `keys` (every key under the prefix, sorted by
 * {@link compareKeys}), with S3's semantics: keys containing the delimiter after the
 * prefix roll up into one common prefix; items and prefixes both count toward the limit;
 * the cursor is the last entry returned. `describe` gives size and dates of the items
 * that make the page (and only those).
 * @internal
 */
export async function pageOf(
  keys: readonly string[],
  request: PageRequest,
  describe: (keys: string[]) => Promise<BlobListItem[]>,
): Promise<BlobPage> {
  const after = request.cursor === undefined ? undefined : decodeCursor(request.cursor)
  const itemKeys: string[] = []
  const prefixes: string[] = []
  let last: string | undefined
  let more = false
  for (const key of keys) {
    let entry = key
    let rolledUp = false
    if (request.delimiter) {
      const at = key.indexOf(request.delimiter, request.prefix.length)
      if (at !== -1) {
        entry = key.slice(0, at + request.delimiter.length)
        rolledUp = true
      }
    }
    if (entry === last) continue
    if (after !== undefined && compareKeys(entry, after) <= 0) continue
    if (itemKeys.length + prefixes.length === request.limit) {
      more = true
      break
    }
    if (rolledUp) prefixes.push(entry)
    else itemKeys.push(key)
    last = entry
  }
  return {
    items: await describe(itemKeys),
    prefixes,
    ...(more && last !== undefined ? { cursor: encodeCursor(last) } : {}),
  }
}
