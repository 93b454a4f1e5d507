import { randomBytes } from 'node:crypto'
import { eq } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import type { DataLayer, User } from '../../src/index.js'
import { users } from '../../src/schema/index.js'
import {
  type LocalRedisCluster,
  type LocalRedisSentinel,
  startLocalRedisCluster,
  startLocalRedisSentinel,
} from '../../src/testing/local-redis.js'
import { backends, uniqueEmail } from '../helpers/backends.js'
import { waitFor } from '../helpers/wait-for.js'

const server = backends.find((b) => b.name === 'postgres')!
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const prefix = () => `cluster-${randomBytes(4).toString('hex')}:`

describe(`the cache on a Redis Cluster [${inject('redisClusterDescription')}]`, () => {
  let data: DataLayer
  let other: DataLayer
  beforeAll(async () => {
    const cache = { prefix: prefix(), redis: { clusterNodes: inject('redisClusterNodes') } }
    data = await server.open({ cache })
    other = await server.reopen(data)
    await Promise.all([reachable(data), reachable(other)])
  })

  it('reads through, caches list pages and never serves a row older than the last write', async () => {
    expect(data.cache.kind).toBe('redis')
    const user = await data.users.create({ email: uniqueEmail(), firstName: 'v1' })
    const chat = await data.chats.create({ userId: user.id, title: 'c' })
    const before = data.cache.stats()
    expect(await data.users.findById(user.id)).toEqual(user)
    expect(await other.users.findById(user.id)).toEqual(user) // from the cluster
    expect((await data.chats.listByUser(user.id)).items).toHaveLength(1)
    expect((await other.chats.listByUser(user.id)).items).toHaveLength(1)
    const after = data.cache.stats()
    expect(after.errors - before.errors).toBe(0)
    expect(other.cache.stats().hits).toBeGreaterThanOrEqual(2)
    await data.users.update(user.id, { firstName: 'v2' })
    await data.chats.create({ userId: user.id, title: 'd' })
    expect((await other.users.findById(user.id))?.firstName).toBe('v2')
    expect((await other.chats.listByUser(user.id)).items).toHaveLength(2)
    expect(await other.users.findByEmail(user.email)).toMatchObject({ firstName: 'v2' })
    await data.chats.delete(chat.id)
    expect((await other.chats.listByUser(user.id)).items).toHaveLength(1)
    expect(data.cache.stats().errors + other.cache.stats().errors).toBe(0)
  })

  it('shares one rate limit across data layers', async () => {
    const limit = { limit: 4, periodMs: 60_000 }
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? data : other).rateLimit('ip:9', limit)),
    )
    expect(results.filter((r) => r.allowed)).toHaveLength(4)
    expect(results.every((r) => r.source === 'shared')).toBe(true)
  })

  it('keeps sessions, and signs a user out everywhere', async () => {
    const userId = randomBytes(8).toString('hex')
    const sessions = await Promise.all([1, 2, 3].map(() => data.sessions.create(userId)))
    for (const session of sessions) expect(await other.sessions.get(session.id)).not.toBeNull()
    await other.sessions.destroyAllForUser(userId)
    for (const session of sessions) expect(await data.sessions.get(session.id)).toBeNull()
  })

  it('clears its prefix on every master', async () => {
    for (let i = 0; i < 30; i++) await data.cache.set(`k${i}`, i)
    expect(await other.cache.get('k7')).toBe(7)
    expect(await data.cache.clear()).toBeGreaterThanOrEqual(30)
    expect(await other.cache.get('k7')).toBeUndefined()
  })
})

describe('a Redis Cluster master restarted mid-run', () => {
  let cluster: LocalRedisCluster
  let data: DataLayer
  beforeAll(async () => {
    cluster = await startLocalRedisCluster(3)
    data = await server.open({
      cache: { prefix: prefix(), redis: { clusterNodes: [...cluster.nodes] } },
    })
    await reachable(data)
  })
  afterAll(async () => {
    await cluster?.stop()
  })

  it('fails no repository call, and leaves no cached row older than the database', async () => {
    const created: User[] = []
    for (let i = 0; i < 30; i++)
      created.push(await data.users.create({ email: uniqueEmail(), firstName: 'v0' }))
    const load = mixedLoad(data, created, 4, 5)
    await sleep(500)
    await cluster.haltNode(1)
    const callsBefore = load.calls()
    await sleep(1500)
    // On a busy machine 1.5 s may hold few calls: the master stays down until 50 more have
    // been made (or the wait times out), so the count below shows reads going on, not speed.
    await waitFor('50 calls with a master down', async () => load.calls() - callsBefore > 50).catch(
      () => {},
    )
    const callsWhileDown = load.calls() - callsBefore
    await cluster.resumeNode(1)
    await sleep(1500)
    const { failures } = await load.stop()
    expect(failures).toEqual([])
    expect(callsWhileDown).toBeGreaterThan(50) // reads went on, from Postgres
    expect(data.cache.stats().errors).toBeGreaterThan(0) // the outage was seen
    // Wait out the circuit's cooldown and the retried invalidations, then compare.
    await sleep(1500)
    for (const user of created) {
      const [row] = await data.db.select().from(users).where(eq(users.id, user.id))
      expect(await data.users.findById(user.id)).toEqual(row)
    }
    const hits = data.cache.stats().hits
    await data.users.findById(created[0]!.id)
    expect(data.cache.stats().hits).toBe(hits + 1) // served by the cluster again
  })
})

describe('the cache through Redis Sentinel, across a failover', () => {
  let sentinel: LocalRedisSentinel
  let data: DataLayer
  beforeAll(async () => {
    sentinel = await startLocalRedisSentinel()
    data = await server.open({
      cache: {
        prefix: prefix(),
        redis: { sentinel: { nodes: [...sentinel.sentinels], name: sentinel.name } },
      },
    })
    await reachable(data)
  })
  afterAll(async () => {
    await sentinel?.stop()
  })

  it('fails no repository call while the master is down, and caches on the promoted replica', async () => {
    const created: User[] = []
    for (let i = 0; i < 10; i++)
      created.push(await data.users.create({ email: uniqueEmail(), firstName: 'v0' }))
    for (const user of created) await data.users.findById(user.id)
    const firstMaster = await sentinel.masterPort()
    const load = mixedLoad(data, created, 2, 4)
    await sleep(300)
    await sentinel.haltMaster()
    await waitFor(
      'the Sentinel to fail over',
      async () => (await sentinel.masterPort()) !== firstMaster,
    )
    // The client follows the Sentinel to the new master; wait until the cache serves hits.
    await waitFor('hits on the new master', async () => {
      const hits = data.cache.stats().hits
      await sleep(200)
      return data.cache.stats().hits > hits
    })
    const { failures, calls } = await load.stop()
    expect(failures).toEqual([])
    expect(calls).toBeGreaterThan(50)
    await sleep(1500) // the circuit's cooldown and retried invalidations
    for (const user of created) {
      const [row] = await data.db.select().from(users).where(eq(users.id, user.id))
      expect(await data.users.findById(user.id)).toEqual(row)
    }
  })
})

/**
 * `workers` loops over `rows` until stopped: every `writeEvery`-th call an update, the
 * others reads by id; failures are collected, not thrown.
 */
function mixedLoad(data: DataLayer, rows: User[], workers: number, writeEvery: number) {
  let calls = 0
  let running = true
  const failures: unknown[] = []
  const loops = Array.from({ length: workers }, async (_, w) => {
    for (let i = w; running; i += workers) {
      const user = rows[i % rows.length]!
      calls++
      try {
        if (i % writeEvery === 0) await data.users.update(user.id, { firstName: `v${i}` })
        else await data.users.findById(user.id)
      } catch (error) {
        failures.push(error)
      }
      await sleep(1)
    }
  })
  return {
    calls: () => calls,
    async stop() {
      running = false
      await Promise.all(loops)
      return { failures, calls }
    },
  }
}

/**
 * Waits until the layer's cache answers: a cluster client is ready only after it has read
 * the slot map from the nodes, which on a busy machine takes longer than the first call's
 * wait (calls before then go to Postgres, as designed; this test is about later ones).
 */
async function reachable(data: DataLayer): Promise<void> {
  await waitFor('the cache to answer', () =>
    data.cache.ping().then(
      () => true,
      () => false,
    ),
  )
}
