/**
 * The caching libraries the bench measures against, each with its documented defaults and
 * the same Redis: bentocache (memory L1 + Redis L2 + Redis bus) and cache-manager 7 (Keyv
 * over Redis). Bench-only dev dependencies.
 */
import { createKeyv } from '@keyv/redis'
import { BentoCache, bentostore } from 'bentocache'
import { memoryDriver } from 'bentocache/drivers/memory'
import { redisBusDriver, redisDriver } from 'bentocache/drivers/redis'
import { createCache } from 'cache-manager'

/** A cache-aside call of one peer library: the cached value of `key`, or `load()`'s. */
export interface PeerCache {
  readonly name: string
  getOrLoad<T>(key: string, load: () => Promise<T>): Promise<T>
  close(): Promise<void>
}

/** The peer libraries by name. */
export const peerNames = ['bentocache', 'cache-manager'] as const
export type PeerName = (typeof peerNames)[number]

/** How the bench names each peer's call. */
export const peerLabels: Record<PeerName, string> = {
  bentocache: 'bentocache getOrSet (memory L1 + Redis L2 + bus)',
  'cache-manager': 'cache-manager wrap (Keyv Redis)',
}

/** Opens one peer on `redisUrl`, its keys under `prefix`. */
export function openPeer(name: PeerName, redisUrl: string, prefix: string): PeerCache {
  return name === 'bentocache' ? bentocache(redisUrl, prefix) : cacheManager(redisUrl, prefix)
}

function bentocache(redisUrl: string, prefix: string): PeerCache {
  const url = new URL(redisUrl)
  const connection = { host: url.hostname, port: Number(url.port || 6379) }
  const bento = new BentoCache({
    default: 'app',
    prefix,
    stores: {
      app: bentostore()
        .useL1Layer(memoryDriver({ maxItems: 10_000 }))
        .useL2Layer(redisDriver({ connection }))
        .useBus(redisBusDriver({ connection })),
    },
  })
  return {
    name: peerLabels.bentocache,
    getOrLoad: (key, load) => bento.getOrSet({ key, factory: load, ttl: '5m' }),
    async close() {
      await bento.disconnectAll()
    },
  }
}

function cacheManager(redisUrl: string, prefix: string): PeerCache {
  const cache = createCache({ stores: [createKeyv(redisUrl, { namespace: prefix })] })
  return {
    name: peerLabels['cache-manager'],
    getOrLoad: (key, load) => cache.wrap(key, load, 300_000),
    async close() {
      await cache.disconnect()
    },
  }
}
