import type { Cluster, Redis, RedisOptions } from 'ioredis'
import type { Broadcast, Subscription } from './cache-driver.js'

interface Listener {
  onMessage(message: string): void
  onReset(): void
  live: boolean
}

/**
 * Publish and subscribe on Redis (single node, Sentinel or Cluster), every subscription of
 * the driver sharing one subscriber connection: a subscribed connection can run no other
 * command, so it is a connection of its own, but one per subscription would cost a
 * connection per live stream or chat. The connection is opened with the first subscription
 * and closed with the last. When it drops, every listener is told (`onReset`: messages may
 * have been missed) and resubscribed once it is back.
 * @internal
 */
export function redisBroadcast(
  client: Redis | Cluster,
  cluster: boolean,
  settings: RedisOptions,
  connected: <T>(command: () => Promise<T>) => Promise<T>,
): Broadcast {
  const channels = new Map<string, Set<Listener>>()
  let subscriber: Redis | Cluster | undefined

  const open = (): Redis | Cluster => {
    const connection = cluster
      ? (client as Cluster).duplicate([], {
          lazyConnect: true,
          enableOfflineQueue: true,
          redisOptions: { ...settings, autoResubscribe: false },
        })
      : (client as Redis).duplicate({
          lazyConnect: true,
          autoResubscribe: false,
          enableOfflineQueue: true,
        })
    const lost = () => {
      if (connection !== subscriber) return
      for (const listeners of channels.values())
        for (const listener of listeners) {
          if (!listener.live) continue
          listener.live = false
          listener.onReset()
        }
    }
    connection.on('error', () => {})
    connection.on('message', (channel: string, message: string) => {
      for (const listener of channels.get(channel) ?? []) listener.onMessage(message)
    })
    connection.on('ready', () => {
      if (connection !== subscriber) return
      for (const channel of channels.keys()) join(connection, channel)
    })
    connection.on('close', lost)
    connection.on('reconnecting', lost)
    connection.connect().catch(() => {})
    return connection
  }

  /** Subscribes `channel` on `connection`; its listeners start from empty once it is. */
  const join = (connection: Redis | Cluster, channel: string) => {
    connection.subscribe(channel).then(
      () => {
        if (connection !== subscriber) return
        for (const listener of channels.get(channel) ?? []) {
          if (listener.live) continue
          // Whatever was published before is not delivered: start from empty.
          listener.onReset()
          listener.live = true
        }
      },
      () => {},
    )
  }

  // A cluster forwards a message to every node over its bus, in order only for messages
  // published on the same node: a channel's messages are all published on one master.
  const publisherOf = (channel: string): Redis | Cluster => {
    if (!cluster) return client
    const masters = (client as Cluster).nodes('master')
    if (masters.length === 0) return client
    let hash = 0
    for (let i = 0; i < channel.length; i++) hash = (hash * 31 + channel.charCodeAt(i)) | 0
    return masters[Math.abs(hash) % masters.length]!
  }

  return {
    publish: (channel, message) =>
      connected(async () => {
        await publisherOf(channel).publish(channel, message)
      }),
    subscribe(channel, handlers): Subscription {
      const listener: Listener = {
        onMessage: (message) => handlers.onMessage(message),
        onReset: () => handlers.onReset(),
        live: false,
      }
      const listeners = channels.get(channel) ?? new Set<Listener>()
      const first = listeners.size === 0
      listeners.add(listener)
      channels.set(channel, listeners)
      if (!subscriber) subscriber = open()
      else if (subscriber.status === 'ready') {
        if (first) join(subscriber, channel)
        else if ([...listeners].some((other) => other !== listener && other.live)) {
          handlers.onReset()
          listener.live = true
        }
      }
      let closed = false
      return {
        get live() {
          return listener.live && subscriber?.status === 'ready'
        },
        async close() {
          if (closed) return
          closed = true
          listener.live = false
          listeners.delete(listener)
          if (listeners.size > 0) return
          channels.delete(channel)
          const connection = subscriber
          if (channels.size === 0) {
            subscriber = undefined
            connection?.disconnect()
          } else if (connection?.status === 'ready') {
            await connection.unsubscribe(channel).catch(() => {})
          }
        },
      }
    },
  }
}
