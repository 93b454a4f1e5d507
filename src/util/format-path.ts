import { clip } from './clip.js'

/**
 * An issue's path as the error shows it: `['items', 0, 'embedding', 3]` ->
 * `items[0].embedding[3]`, each name clipped.
 * @internal
 */
export function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((p) =>
      typeof p === 'number'
        ? `[${p}]`
        : // a segment already formatted as an index path (`[0][1]`) joins without a dot
          `${String(p).startsWith('[') ? '' : '.'}${clip(String(p))}`,
    )
    .join('')
    .replace(/^\./, '')
}
