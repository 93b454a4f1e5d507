import { StratumError } from '../errors.js'

// How the cache lays out its keys in the driver, and the L1 tier's invalidation messages.

/** Suffix of a key's fence token (moved by every invalidation). */
export const FENCE_SUFFIX = '#fence'
/** Suffix of a key's load lease (one reader loads, others wait). */
export const LEASE_SUFFIX = '#lease'

/**
 * The keys of an invalidation message from another instance (empty: drop everything), or
 * undefined for this instance's own messages and for anything unreadable.
 */
export function parseInvalidation(message: string, origin: string): string[] | undefined {
  try {
    const parsed = JSON.parse(message) as { from?: unknown; keys?: unknown }
    if (parsed.from === origin || !Array.isArray(parsed.keys)) return undefined
    return parsed.keys.map(String)
  } catch {
    return undefined
  }
}

/** An invalidated key and its fence key: a group's L1-held token goes with the group. */
export const withFences = (keys: readonly string[]): string[] =>
  keys.flatMap((key) => [key, key + FENCE_SUFFIX])

const MAX_KEY_LENGTH = 1024
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it rejects
const UNSAFE_KEY = /[\u0000-\u0020\u007f]/

/**
 * The full key of `key` under `prefix`, or `INVALID_KEY`. The key is the hash tag: its
 * value, fence and lease (and a group's members) share one Redis Cluster slot.
 */
export function fullCacheKey(prefix: string, key: string): string {
  if (
    typeof key !== 'string' ||
    key.length === 0 ||
    key.length > MAX_KEY_LENGTH ||
    UNSAFE_KEY.test(key)
  ) {
    throw new StratumError(
      'INVALID_KEY',
      `Cache keys must be 1 to ${MAX_KEY_LENGTH} characters without spaces or control characters`,
    )
  }
  // The key is the hash tag: its value, fence and lease (and a group's members) share one
  // Redis Cluster slot, so every script touches keys of one slot.
  return `${prefix}{${key}}`
}
