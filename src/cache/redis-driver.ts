import type { ConnectionOptions } from 'node:tls'
import type { Cluster, Redis, RedisOptions } from 'ioredis'
import { loadOptionalPeer } from '../util/optional-peer.js'
import { type TlsSettings, tlsConnectionOptions } from '../util/tls-connection-options.js'
import { tlsFailureOf } from '../util/tls-failure.js'
import type { CacheDriver, ExpiringMember } from './cache-driver.js'
import { CACHE_DEFAULTS } from './cache-options.js'
import { newFenceToken } from './fence-token.js'
import { redisBroadcast } from './redis-broadcast.js'
import type { RedisClient } from './redis-client.js'
import { defineScripts, type ScriptedRedis } from './redis-scripts.js'

/** Most keys one command is given (see perSlot). */
const MAX_KEYS_PER_COMMAND = 1000
/** Redis's own default port, and the server used when no URL is given (as redis-cli does). */
const DEFAULT_PORT = 6379
const LOCAL_REDIS_URL = `redis://127.0.0.1:${DEFAULT_PORT}`

function chunked(keys: string[]): string[][] {
  if (keys.length <= MAX_KEYS_PER_COMMAND) return [keys]
  const out: string[][] = []
  for (let i = 0; i < keys.length; i += MAX_KEYS_PER_COMMAND)
    out.push(keys.slice(i, i + MAX_KEYS_PER_COMMAND))
  return out
}

/** How the Redis driver connects. */
export interface RedisDriverOptions {
  /** `redis://` or `rediss://` URL; ignored when `client` is given. */
  url?: string
  /** A ready ioredis client (or `Cluster`); the driver does not close it. */
  client?: RedisClient
  /**
   * Seed nodes of a Redis Cluster (`redis://host:port` each); the driver then uses
   * ioredis' `Cluster` and keeps every script and multi-key command within one slot.
   */
  clusterNodes?: readonly string[]
  /** Sentinels (`redis://host:port` each) and the master name they monitor. */
  sentinel?: { readonly nodes: readonly string[]; readonly name: string }
  /** Each command fails after this long (default 250 ms), so Redis trouble stays short. */
  commandTimeoutMs?: number
  /** Give up connecting after this long (default 1,000 ms). */
  connectTimeoutMs?: number
  /**
   * TLS for every connection (single node, Cluster nodes, Sentinel's master; the Sentinels
   * too when their URLs are `rediss://`). `true` uses the system's CAs; an object adds a
   * CA, a client certificate, or the name the server's certificate must carry. A
   * `rediss://` URL turns TLS on by itself. Certificates are always verified unless
   * `rejectUnauthorized` is explicitly false.
   */
  tls?: RedisTlsOptions | boolean | undefined
}

/** TLS settings of the Redis driver. */
export type RedisTlsOptions = TlsSettings

/** ioredis' `tls` setting, or undefined for none (a `rediss://` URL turns it on). */
function redisTls(
  tls: RedisTlsOptions | boolean | undefined,
  urls: readonly (string | undefined)[],
): ConnectionOptions | undefined {
  if (tls === false) return undefined
  if (tls === undefined && !urls.some((url) => url?.startsWith('rediss:'))) return undefined
  return tlsConnectionOptions(typeof tls === 'object' ? tls : {})
}

/** ioredis, an optional peer: loaded when a Redis cache is configured. */
const ioredis = () =>
  loadOptionalPeer<{ Redis: typeof Redis; Cluster: typeof Cluster }>('ioredis', 'The Redis cache')

/**
 * A single-node client whose TLS sockets keep an 'error' listener for their whole life.
 * ioredis listens on each socket with `once`, so a TLS socket that reports a second error
 * (a refused certificate, then the peer's alert) had none left, and the second error
 * crashed the process (seen with a server whose certificate cannot be verified). The
 * client connects lazily only so its connector can be wrapped before the first socket.
 */
function tlsSafeRedis(url: string, settings: RedisOptions): Redis {
  const { Redis } = ioredis()
  const client = new Redis(url, { ...settings, lazyConnect: true })
  const connector = (
    client as unknown as { connector: { connect: (...args: unknown[]) => Promise<unknown> } }
  ).connector
  const connect = connector.connect.bind(connector)
  connector.connect = async (...args: unknown[]) => {
    const stream = (await connect(...args)) as { on(event: 'error', listener: () => void): void }
    stream.on('error', () => {})
    return stream
  }
  client.connect().catch(() => {})
  return client
}

/**
 * What is wrong with a Redis connection, from its last error: where (host and port, never a
 * password) and why (refused, timed out, a certificate), for health reports.
 */
function describeConnectionError(error: unknown, where: string): string {
  const tls = tlsFailureOf(error, 'cache.redis.tls')
  if (tls) return `TLS connection to ${where} refused: ${tls.fix}`
  const code = (error as { code?: unknown } | undefined)?.code
  if (code === 'ECONNREFUSED') return `connection refused at ${where}`
  if (code === 'ETIMEDOUT' || /timed? ?out/i.test(String((error as Error | undefined)?.message)))
    return `connecting to ${where} timed out`
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `host of ${where} not found`
  if (error instanceof Error) return `${where}: ${error.message.split('\n')[0]}`
  return `${where}: not connected`
}

/**
 * The part of a key Redis Cluster hashes: between the first `{` and the next `}` when
 * that is not empty, else the whole key.
 * @internal
 */
export function hashTag(key: string): string {
  const open = key.indexOf('{')
  if (open === -1) return key
  const close = key.indexOf('}', open + 1)
  return close > open + 1 ? key.slice(open + 1, close) : key
}

function hostAndPort(url: string): { host: string; port: number } {
  const parsed = new URL(url)
  return { host: parsed.hostname, port: Number(parsed.port || DEFAULT_PORT) }
}

/** Keys grouped by hash tag: the keys of one group share a slot. */
function bySlot(keys: readonly string[]): string[][] {
  const groups = new Map<string, string[]>()
  for (const key of keys) {
    const tag = hashTag(key)
    const group = groups.get(tag)
    if (group) group.push(key)
    else groups.set(tag, [key])
  }
  return [...groups.values()]
}

/**
 * Settings for a cache client: no offline queue and a short command timeout, so a
 * command fails at once instead of waiting for seconds when Redis is unreachable
 * (ioredis' defaults queue commands and retry, which hangs callers for 10 s or more).
 * @internal
 */
export function cacheClientOptions(
  commandTimeoutMs: number,
  connectTimeoutMs: number,
): RedisOptions {
  return {
    enableOfflineQueue: false,
    commandTimeout: commandTimeoutMs,
    connectTimeout: connectTimeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2000),
    lazyConnect: false,
  }
}

/**
 * The Redis cache driver (ioredis). Fences, fenced sets and invalidations are Lua
 * scripts, so each is atomic.
 *
 * @example
 * ```ts
 * const driver = redisDriver({ url: process.env.REDIS_URL })
 * ```
 */
export function redisDriver(options: RedisDriverOptions): CacheDriver {
  const owned = !options.client
  const tls = redisTls(options.tls, [options.url, ...(options.clusterNodes ?? [])])
  const settings: RedisOptions = {
    ...cacheClientOptions(
      options.commandTimeoutMs ?? CACHE_DEFAULTS.redis.commandTimeoutMs,
      options.connectTimeoutMs ?? CACHE_DEFAULTS.redis.connectTimeoutMs,
    ),
    ...(tls ? { tls } : {}),
  }
  const sentinelTls = options.sentinel?.nodes.some((node) => node.startsWith('rediss:'))
  const endpoint = (url: string) => {
    const { host, port } = hostAndPort(url)
    return `${host}:${port}`
  }
  const where = options.url
    ? endpoint(options.url)
    : options.clusterNodes
      ? `cluster ${options.clusterNodes.map(endpoint).join(',')}`
      : options.sentinel
        ? `sentinel master ${options.sentinel.name}`
        : 'the given client'
  const { Redis, Cluster } = ioredis()
  const client = ((options.client as Redis | Cluster | undefined) ??
    (options.clusterNodes
      ? new Cluster(options.clusterNodes.map(hostAndPort), {
          redisOptions: settings,
          // As ioredis documents for TLS clusters (ElastiCache): use the announced
          // addresses as they are, without a DNS lookup that breaks the certificate check.
          ...(tls ? { dnsLookup: (address, lookup) => lookup(null, address) } : {}),
          enableOfflineQueue: false,
          clusterRetryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2000),
          // A moved slot (a failover, a restart) is followed at once, not queued.
          retryDelayOnMoved: 0,
          retryDelayOnClusterDown: 100,
          slotsRefreshTimeout: options.connectTimeoutMs ?? CACHE_DEFAULTS.redis.connectTimeoutMs,
        })
      : options.sentinel
        ? new Redis({
            ...settings,
            sentinels: options.sentinel.nodes.map(hostAndPort),
            name: options.sentinel.name,
            ...(sentinelTls && tls ? { sentinelTLS: tls, enableTLSForSentinelMode: true } : {}),
            // After a failover the old master answers READONLY until it is told: reconnect
            // to whichever master the Sentinels name now.
            reconnectOnError: (error) => error.message.startsWith('READONLY'),
          })
        : tls
          ? tlsSafeRedis(options.url ?? LOCAL_REDIS_URL, settings)
          : new Redis(options.url ?? LOCAL_REDIS_URL, settings))) as ScriptedRedis
  // Kept a plain boolean: narrowing `client` by it would drop the scripted commands' types.
  const cluster: boolean = (client as unknown) instanceof Cluster
  /** Runs `fn` once per group of `keys` that share a slot (once for all of them on one server). */
  // Groups of at most MAX_KEYS_PER_COMMAND: a command's keys are spread into one call's
  // arguments, and a write of a million rows invalidates a million keys.
  const perSlot = async (keys: readonly string[], fn: (group: string[]) => Promise<number>) => {
    const groups = (cluster ? bySlot(keys) : [[...keys]]).flatMap((group) => chunked(group))
    let total = 0
    for (let i = 0; i < groups.length; i += 16) {
      const counts = await Promise.all(groups.slice(i, i + 16).map(fn))
      for (const count of counts) total += count
    }
    return total
  }
  // Without a listener ioredis reports connection errors as unhandled 'error' events; the
  // last one says what is wrong when a call or health check finds no connection.
  let lastError: unknown
  client.on('error', (error: unknown) => {
    lastError = error
  })
  client.on('ready', () => {
    lastError = undefined
  })
  defineScripts(client)

  // Without an offline queue, a command sent before the first connection is up fails.
  // Calls wait for that first attempt only (ready, refused, or the connect timeout);
  // later outages fail fast instead of queueing.
  let firstAttempt: Promise<void> | undefined =
    client.status === 'ready'
      ? undefined
      : new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(timer)
            client.off('ready', done).off('error', done).off('end', done)
            firstAttempt = undefined
            resolve()
          }
          const timer = setTimeout(
            done,
            options.connectTimeoutMs ?? CACHE_DEFAULTS.redis.connectTimeoutMs,
          )
          timer.unref()
          client.once('ready', done).once('error', done).once('end', done)
        })
  const connected = <T>(command: () => Promise<T>): Promise<T> =>
    firstAttempt ? firstAttempt.then(command) : command()

  return {
    kind: 'redis',
    // The hottest call: ioredis' own promise, with no wrapper of ours once connected.
    get: (key) => (firstAttempt ? connected(() => client.getBuffer(key)) : client.getBuffer(key)),
    set: (key, value, ttlMs) =>
      connected(async () => {
        await client.set(key, value, 'PX', Math.max(1, Math.round(ttlMs)))
      }),
    delete: (keys) =>
      connected(async () =>
        keys.length === 0 ? 0 : perSlot(keys, (group) => client.del(...group)),
      ),
    increment: (key, ttlMs) =>
      connected(() => client.stratumIncrement(key, Math.max(1, Math.round(ttlMs)))),
    fence: (fenceKey, ttlMs) =>
      connected(() =>
        client.stratumFence(fenceKey, newFenceToken(), Math.max(1, Math.round(ttlMs))),
      ),
    setIfFence: (key, value, ttlMs, fenceKey, token) =>
      connected(
        async () =>
          (await client.stratumSetIfFence(
            key,
            fenceKey,
            token,
            value,
            Math.max(1, Math.round(ttlMs)),
          )) === 1,
      ),
    claim: (key, fenceKey, fenceTtlMs, leaseKey, holder, leaseTtlMs) =>
      connected(async () => {
        const [found, valueOrToken, leased] = await client.stratumClaimBuffer(
          key,
          fenceKey,
          leaseKey,
          newFenceToken(),
          Math.max(1, Math.round(fenceTtlMs)),
          holder,
          Math.max(1, Math.round(leaseTtlMs)),
        )
        return found === 1
          ? { value: valueOrToken }
          : { token: valueOrToken.toString(), leased: leased === 1 }
      }),
    releaseLease: (leaseKey, holder) =>
      connected(async () => {
        await client.stratumReleaseLease(leaseKey, holder)
      }),
    invalidate: (keys, fenceKeys, fenceTtlMs) =>
      connected(async () => {
        if (keys.length + fenceKeys.length === 0) return
        const fences = new Set(fenceKeys)
        // One script per slot on a cluster (a value and its fence share one: the tag).
        await perSlot([...keys, ...fenceKeys], async (group) => {
          const values = group.filter((key) => !fences.has(key))
          const fenced = group.filter((key) => fences.has(key))
          await client.stratumInvalidate(
            group.length,
            ...values,
            ...fenced,
            values.length,
            newFenceToken(),
            Math.max(1, Math.round(fenceTtlMs)),
          )
          return 0
        })
      }),
    rateLimit: (key, intervalMs, toleranceMs, cost) =>
      connected(async () => {
        const [allowed, remaining, retryAfterMs, resetInMs] = await client.stratumRateLimit(
          key,
          intervalMs,
          toleranceMs,
          cost,
        )
        return {
          allowed: allowed === 1,
          remaining: Number(remaining),
          retryAfterMs: Number(retryAfterMs),
          resetInMs: Number(resetInMs),
        }
      }),
    expire: (key, ttlMs) =>
      connected(async () => (await client.pexpire(key, Math.max(1, Math.round(ttlMs)))) === 1),
    indexAdd: (indexKey, member, ttlMs) =>
      connected(async () => {
        await client.stratumIndexAdd(indexKey, member, Math.max(1, Math.round(ttlMs)))
      }),
    indexRemove: (indexKey, member) =>
      connected(async () => {
        await client.srem(indexKey, member)
      }),
    indexDeleteAll: (indexKey) =>
      connected(async () => {
        if (!cluster) return client.stratumIndexDeleteAll(indexKey)
        // The members live in other slots: not one script. The set goes first, so a member
        // added meanwhile is in a new set, not lost in a deleted one.
        const members = await client.smembers(indexKey)
        await client.del(indexKey)
        const deleted = await Promise.all(members.map((member) => client.del(member)))
        return deleted.reduce((a, b) => a + b, 0)
      }),
    memberAdd: (key, member, ttlMs) =>
      connected(
        async () =>
          (await client.stratumMemberAdd(key, member, Math.max(1, Math.round(ttlMs)))) === 1,
      ),
    memberRemove: (key, member) =>
      connected(async () => (await client.stratumMemberRemove(key, member)) === 1),
    members: (key) =>
      connected(async () => {
        const flat = await client.stratumMembers(key)
        const out: ExpiringMember[] = []
        for (let i = 0; i < flat.length; i += 2)
          out.push({ member: flat[i]!, expiresAt: Number(flat[i + 1]) })
        return out
      }),
    deleteByPrefix: (prefix) =>
      connected(async () => {
        let deleted = 0
        const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`
        // A cluster keeps its keys on every master: each is scanned.
        const servers = cluster ? (client as unknown as Cluster).nodes('master') : [client]
        for (const server of servers) {
          let cursor = '0'
          do {
            const [next, keys] = await server.scan(cursor, 'MATCH', pattern, 'COUNT', 500)
            cursor = next
            if (keys.length > 0) deleted += await perSlot(keys, (group) => client.unlink(...group))
          } while (cursor !== '0')
        }
        return deleted
      }),
    ping: () =>
      connected(async () => {
        if (client.status !== 'ready' && lastError !== undefined)
          throw new Error(describeConnectionError(lastError, where), { cause: lastError })
        try {
          await client.ping()
        } catch (error) {
          throw new Error(describeConnectionError(lastError ?? error, where), { cause: error })
        }
      }),
    async close() {
      if (owned) client.disconnect()
    },
    broadcast: redisBroadcast(client, cluster, settings, connected),
  }
}
