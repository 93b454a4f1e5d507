import { StratumError, ValidationError } from '../errors.js'
import type { CacheDriver, Subscription } from './cache-driver.js'
import { fullCacheKey } from './key-space.js'
import { localBroadcast } from './local-broadcast.js'
import { checkedTtl } from './value-limits.js'

/** Longest member of an expiring set, in bytes. */
const MAX_MEMBER_BYTES = 1024

/** How long `subscribe` waits for the backend to confirm a subscription. */
const SUBSCRIBE_TIMEOUT_MS = 5_000

/**
 * Short-lived shared state and messages between the processes of an app, on the cache's
 * backend: what resumable streams and live state (presence, typing, change feeds) are built
 * on. With Redis (single node, Sentinel or Cluster) it reaches every process; on the
 * embedded default (the in-memory cache) it reaches this process only, which `scope` says.
 * Keys and channels live under the cache's prefix.
 */
export interface Coordination {
  /** `shared`: every process using the same backend sees it; `process`: this process only. */
  readonly scope: 'shared' | 'process'
  /** The string under `key`, or null. */
  get(key: string): Promise<string | null>
  /** Stores `value` under `key` for `ttlMs`. */
  set(key: string, value: string, ttlMs: number): Promise<void>
  /** Adds one to the counter under `key` (created at 0) and returns it; the TTL is refreshed. */
  increment(key: string, ttlMs: number): Promise<number>
  /**
   * Adds `member` to the expiring set `set`, or refreshes it, for `ttlMs`: each member
   * expires on its own (presence, typing). Resolves to true when it was not a live member.
   */
  addMember(set: string, member: string, ttlMs: number): Promise<boolean>
  /** Removes `member` from `set`; resolves to true when it was a live member. */
  removeMember(set: string, member: string): Promise<boolean>
  /** The live members of `set`, soonest to expire first, with when each expires. */
  members(set: string): Promise<{ member: string; expiresAt: Date }[]>
  /** Sends `message` to every subscriber of `channel`. */
  publish(channel: string, message: string): Promise<void>
  /**
   * Listens on `channel`; resolves once messages are arriving (`UNAVAILABLE` when the backend
   * does not confirm within 5 s). `onReset` runs when messages may have been missed (the
   * connection dropped and came back).
   */
  subscribe(
    channel: string,
    onMessage: (message: string) => void,
    onReset?: () => void,
  ): Promise<Subscription>
}

/** What the coordination of a cache needs from it besides the driver. @internal */
export interface CoordinationLimits {
  /** Largest string `set` takes, in bytes (the cache's `maxValueBytes`). */
  readonly maxValueBytes: number
  /** Whether the cache (its data layer) was closed: every call is `CLOSED` then. */
  readonly closed: () => boolean
}

/**
 * The coordination of a cache backend, keys and channels under `prefix`, checked as the
 * cache's keys are (`INVALID_KEY`); values, TTLs and listeners checked (`VALIDATION`); a
 * backend failure is `UNAVAILABLE`.
 * @internal
 */
export function coordinationOf(
  driver: CacheDriver,
  prefix: string,
  limits: CoordinationLimits,
): Coordination {
  const broadcast = driver.broadcast ?? localBroadcast()
  const scope = `${prefix}co:`
  /** Runs `fn` with the full name of `name`, as the cache's own calls do. */
  const call = async <T>(operation: string, name: string, fn: (full: string) => Promise<T>) => {
    if (limits.closed())
      throw new StratumError(
        'CLOSED',
        `cache.coordination.${operation} was called after data.close()`,
      )
    const full = fullCacheKey(scope, name)
    try {
      return await fn(full)
    } catch (error) {
      if (error instanceof StratumError) throw error
      throw new StratumError(
        'UNAVAILABLE',
        `cache.coordination.${operation}: the cache backend (${driver.kind}) failed`,
        { cause: error },
      )
    }
  }
  const text = (value: unknown, path: string, operation: string): string => {
    if (typeof value !== 'string' || Buffer.byteLength(value) > limits.maxValueBytes) {
      throw new ValidationError(`cache.coordination.${operation}`, [
        { path, message: `must be a string of at most ${limits.maxValueBytes} bytes` },
      ])
    }
    return value
  }
  const member = (value: unknown, operation: string): string => {
    if (
      typeof value !== 'string' ||
      value.length === 0 ||
      Buffer.byteLength(value) > MAX_MEMBER_BYTES
    )
      throw new ValidationError(`cache.coordination.${operation}`, [
        { path: 'member', message: `must be a string of 1 to ${MAX_MEMBER_BYTES} bytes` },
      ])
    return value
  }
  const ttl = (ttlMs: number, operation: string) =>
    checkedTtl(ttlMs, Number.NaN, `cache.coordination.${operation}`)
  return {
    scope: driver.broadcast ? 'shared' : 'process',
    get: (name) =>
      call('get', name, async (full) => (await driver.get(full))?.toString('utf8') ?? null),
    set: (name, value, ttlMs) =>
      call('set', name, (full) =>
        driver.set(full, Buffer.from(text(value, 'value', 'set'), 'utf8'), ttl(ttlMs, 'set')),
      ),
    increment: (name, ttlMs) =>
      call('increment', name, (full) => driver.increment(full, ttl(ttlMs, 'increment'))),
    addMember: (set, name, ttlMs) =>
      call('addMember', set, (full) =>
        driver.memberAdd(full, member(name, 'addMember'), ttl(ttlMs, 'addMember')),
      ),
    removeMember: (set, name) =>
      call('removeMember', set, (full) => driver.memberRemove(full, member(name, 'removeMember'))),
    members: (set) =>
      call('members', set, async (full) =>
        (await driver.members(full)).map((m) => ({
          member: m.member,
          expiresAt: new Date(m.expiresAt),
        })),
      ),
    publish: (channel, message) =>
      call('publish', channel, (full) =>
        broadcast.publish(full, text(message, 'message', 'publish')),
      ),
    subscribe: (channel, onMessage, onReset) =>
      call('subscribe', channel, (full) => {
        if (
          typeof onMessage !== 'function' ||
          (onReset !== undefined && typeof onReset !== 'function')
        )
          throw new ValidationError('cache.coordination.subscribe', [
            { path: 'onMessage', message: 'must be a function (and onReset too, when given)' },
          ])
        return new Promise<Subscription>((resolve, reject) => {
          // A backend may confirm at once, inside `subscribe`: resolve once it has returned.
          let subscription: Subscription | undefined
          let ready = false
          const timer = setTimeout(() => {
            if (ready) return
            void subscription?.close()
            reject(
              new StratumError(
                'UNAVAILABLE',
                `the cache backend (${driver.kind}) did not confirm a subscription within ${SUBSCRIBE_TIMEOUT_MS} ms`,
              ),
            )
          }, SUBSCRIBE_TIMEOUT_MS)
          subscription = broadcast.subscribe(full, {
            onMessage,
            onReset: () => {
              if (ready) return onReset?.()
              ready = true
              clearTimeout(timer)
              if (subscription) resolve(subscription)
            },
          })
          if (ready) resolve(subscription)
        })
      }),
  }
}
