import type { Subscription } from './cache-driver.js'
import type { Coordination } from './coordination.js'

/** How long resumable-stream's keys live when it gives no expiry (its own default, a day). */
const DEFAULT_TTL_MS = 24 * 60 * 60 * 1000

/** The `publisher` that `createResumableStreamContext` of `resumable-stream/generic` takes. */
export interface ResumableStreamPublisher {
  connect(): Promise<void>
  publish(channel: string, message: string): Promise<number>
  set(key: string, value: string, options?: { EX?: number }): Promise<'OK'>
  get(key: string): Promise<string | null>
  incr(key: string): Promise<number>
}

/** The `subscriber` that `createResumableStreamContext` of `resumable-stream/generic` takes. */
export interface ResumableStreamSubscriber {
  connect(): Promise<void>
  subscribe(channel: string, callback: (message: string) => void): Promise<void>
  unsubscribe(channel: string): Promise<void>
}

/**
 * A publisher and a subscriber for the `resumable-stream` package (its `generic` entry), on
 * the data layer's cache backend: with Redis, a reply streamed by one process can be resumed
 * or followed from any other; on the embedded default, from the same process only
 * (`data.cache.coordination.scope` is then `process`). Subscriptions share one Redis
 * connection whatever the number of streams.
 *
 * @example
 * ```ts
 * import { createResumableStreamContext } from 'resumable-stream/generic'
 * const streams = createResumableStreamContext({
 *   waitUntil: null,
 *   ...resumableStreamClients(data.cache.coordination),
 * })
 * ```
 */
export function resumableStreamClients(coordination: Coordination): {
  publisher: ResumableStreamPublisher
  subscriber: ResumableStreamSubscriber
} {
  const subscriptions = new Map<string, Subscription[]>()
  return {
    publisher: {
      connect: async () => {},
      async publish(channel, message) {
        await coordination.publish(channel, message)
        // Redis answers with the number of receivers; resumable-stream does not use it.
        return 1
      },
      async set(key, value, options) {
        const ttlMs = options?.EX === undefined ? DEFAULT_TTL_MS : options.EX * 1000
        await coordination.set(key, value, ttlMs)
        return 'OK'
      },
      get: (key) => coordination.get(key),
      incr: (key) => coordination.increment(key, DEFAULT_TTL_MS),
    },
    subscriber: {
      connect: async () => {},
      async subscribe(channel, callback) {
        const subscription = await coordination.subscribe(channel, callback)
        subscriptions.set(channel, [...(subscriptions.get(channel) ?? []), subscription])
      },
      async unsubscribe(channel) {
        const open = subscriptions.get(channel) ?? []
        subscriptions.delete(channel)
        await Promise.all(open.map((subscription) => subscription.close()))
      },
    },
  }
}
