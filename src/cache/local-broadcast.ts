import type { Broadcast, Subscription } from './cache-driver.js'

/**
 * Publish and subscribe within this process: what the embedded default (the in-memory cache)
 * has instead of Redis pub/sub. A subscription is live a moment after it is made; a message reaches every
 * subscriber of its channel in this process, a moment later (never inside `publish`), and no
 * other process.
 * @internal
 */
export function localBroadcast(): Broadcast {
  const channels = new Map<string, Set<(message: string) => void>>()
  return {
    async publish(channel, message) {
      const listeners = [...(channels.get(channel) ?? [])]
      queueMicrotask(() => {
        for (const listener of listeners) listener(message)
      })
    },
    subscribe(channel, handlers): Subscription {
      const listeners = channels.get(channel) ?? new Set()
      const listener = (message: string) => handlers.onMessage(message)
      listeners.add(listener)
      channels.set(channel, listeners)
      let live = false
      let closed = false
      queueMicrotask(() => {
        if (closed) return
        live = true
        handlers.onReset()
      })
      return {
        get live() {
          return live
        },
        async close() {
          closed = true
          live = false
          listeners.delete(listener)
          if (listeners.size === 0) channels.delete(channel)
        },
      }
    },
  }
}
