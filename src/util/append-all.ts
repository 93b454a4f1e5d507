/**
 * Appends every item of `items` to `target` without spreading them into one call's
 * arguments, which overflows the stack past about 100,000 items.
 * @internal
 */
export function appendAll<T>(target: T[], items: Iterable<T>): T[] {
  for (const item of items) target.push(item)
  return target
}
