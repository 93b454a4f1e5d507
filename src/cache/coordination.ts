import { StratumError } from '../errors.js'
import type { CacheDriver, Subscription } from './cache-driver.js'
import { localBroadcast } from './local-broadcast.js'

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

/** The coordination of a cache backend, keys and channels under `prefix`. @internal */
export function coordinationOf(driver: CacheDriver, prefix: string): Coordination {
  const broadcast = driver.broadcast ?? localBroadcast()
  const key = (name: string) => `${prefix}co:${name}`
  return {
    scope: driver.broadcast ? 'shared' : 'process',
    get: async (name) => (await driver.get(key(name)))?.toString('utf8') ?? null,
    set: (name, value, ttlMs) => driver.set(key(name), Buffer.from(value, 'utf8'), ttlMs),
    increment: (name, ttlMs) => driver.increment(key(name), ttlMs),
    publish: (channel, message) => broadcast.publish(key(channel), message),
    subscribe: (channel, onMessage, onReset) =>
      new Promise<Subscription>((resolve, reject) => {
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
        subscription = broadcast.subscribe(key(channel), {
          onMessage,
          onReset: () => {
            if (ready) return onReset?.()
            ready = true
            clearTimeout(timer)
            if (subscription) resolve(subscription)
          },
        })
        if (ready) resolve(subscription)
      }),
  }
}
