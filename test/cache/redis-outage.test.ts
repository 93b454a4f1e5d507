import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DataLayer, User } from '../../src/index.js'
import { startLocalRedis } from '../../src/testing/local-redis.js'
import type { RunningService } from '../../src/testing/running-service.js'
import { backends, backendTitle, uniqueEmail } from '../helpers/backends.js'

const server = backends.find((b) => b.name === 'postgres')!
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

// A Redis of its own, frozen with SIGSTOP mid-run: it keeps its data but answers nothing,
// like a partitioned or stalled server, then resumes with SIGCONT.
describe(`a Redis outage during reads and writes [${backendTitle(server)}]`, () => {
  let redis: RunningService
  let data: DataLayer
  let users: User[]

  beforeAll(async () => {
    redis = await startLocalRedis()
    data = await server.open({ redisUrl: redis.url, cache: { redis: { commandTimeoutMs: 100 } } })
    users = await data.users.createMany(
      Array.from({ length: 20 }, () => ({ email: uniqueEmail('outage'), firstName: 'before' })),
    )
    for (const user of users) await data.users.findById(user.id) // cached
  })
  afterAll(async () => {
    if (redis.pid) process.kill(redis.pid, 'SIGCONT')
    await redis.stop()
  })

  it('fails no call while Redis is frozen, and serves no stale row once it is back', async () => {
    expect(redis.pid).toBeDefined()
    process.kill(redis.pid!, 'SIGSTOP')
    let failures = 0
    let calls = 0
    try {
      for (let round = 0; round < 10; round++) {
        for (const user of users) {
          calls += 2
          await data.users.update(user.id, { firstName: `during-${round}` }).catch(() => failures++)
          const read = await data.users.findById(user.id).catch(() => {
            failures++
            return null
          })
          if (read?.firstName !== `during-${round}`) failures++
        }
      }
      const during = data.cache.stats()
      expect(during.errors).toBeGreaterThan(0)
      expect(during.circuitOpen || during.bypasses > 0).toBe(true)
      expect(during.pendingInvalidations).toBeGreaterThan(0)
    } finally {
      process.kill(redis.pid!, 'SIGCONT')
    }
    expect({ calls, failures }).toEqual({ calls: 400, failures: 0 })

    // Back: the queued invalidations are delivered, then reads come from the cache again.
    for (let i = 0; i < 100 && data.cache.stats().pendingInvalidations > 0; i++) await sleep(50)
    expect(data.cache.stats().pendingInvalidations).toBe(0)
    await sleep(1100) // past the breaker's cooldown
    for (const user of users) {
      const truth = await data.transaction((tx) => tx.users.findById(user.id))
      expect(await data.users.findById(user.id)).toEqual(truth)
      expect(await data.users.findById(user.id)).toEqual(truth)
      const cached = await data.cache.get<User>(`e:users:${user.id}`)
      expect(cached === undefined || JSON.stringify(cached) === JSON.stringify(truth)).toBe(true)
    }
    expect(data.cache.stats().hits).toBeGreaterThan(0)
  })
})
