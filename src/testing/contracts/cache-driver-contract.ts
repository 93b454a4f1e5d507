import { randomBytes } from 'node:crypto'
import type { CacheDriver } from '../../cache/cache-driver.js'
import type { TestApi } from './test-api.js'

/**
 * The contract every CacheDriver must meet (a Valkey or Memcached driver too). Run it
 * with your runner's functions and a factory for your driver; each run uses keys under a
 * fresh prefix, so drivers may share a backend.
 *
 * @example
 * ```ts
 * import { afterAll, beforeAll, describe, expect, it } from 'vitest'
 * import { cacheDriverContract } from 'stratum-data/testing/contracts'
 *
 * cacheDriverContract({ afterAll, beforeAll, describe, expect, it }, 'valkey', () => myValkeyDriver())
 * ```
 */
export function cacheDriverContract(
  api: TestApi,
  title: string,
  makeDriver: () => Promise<CacheDriver> | CacheDriver,
): void {
  const { describe, it, expect, beforeAll, afterAll } = api
  describe(`CacheDriver contract [${title}]`, () => {
    let driver: CacheDriver
    const prefix = `contract:${randomBytes(4).toString('hex')}:`
    // Keys given together to one call share a hash tag (the part before the first ':'),
    // as the Cache makes them, so the suite also runs on a Redis Cluster.
    const k = (name: string) => {
      const [base, ...rest] = name.split(':')
      return `${prefix}{${base}}${rest.map((part) => `:${part}`).join('')}`
    }
    beforeAll(async () => {
      driver = await makeDriver()
    })
    afterAll(async () => {
      await driver.deleteByPrefix(prefix)
      await driver.close()
    })

    it('answers ping', async () => {
      await expect(driver.ping()).resolves.toBeUndefined()
    })

    it('misses an absent key, and returns stored bytes exactly', async () => {
      expect(await driver.get(k('absent'))).toBeNull()
      const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i))
      await driver.set(k('bytes'), bytes, 60_000)
      expect(Buffer.compare((await driver.get(k('bytes')))!, bytes)).toBe(0)
      await driver.set(k('bytes'), Buffer.from('second'), 60_000)
      expect((await driver.get(k('bytes')))?.toString()).toBe('second')
    })

    it('expires a value after its TTL', async () => {
      await driver.set(k('short'), Buffer.from('x'), 400)
      expect(await driver.get(k('short'))).toBeDefined()
      await new Promise((r) => setTimeout(r, 600))
      expect(await driver.get(k('short'))).toBeNull()
    })

    it('deletes, counting the keys that existed', async () => {
      await driver.set(k('d1'), Buffer.from('1'), 60_000)
      await driver.set(k('d2'), Buffer.from('2'), 60_000)
      expect(await driver.delete([k('d1'), k('d2'), k('d3')])).toBe(2)
      expect(await driver.get(k('d1'))).toBeNull()
      expect(await driver.delete([])).toBe(0)
    })

    it('increments counters from zero', async () => {
      expect(await driver.increment(k('n'), 60_000)).toBe(1)
      expect(await driver.increment(k('n'), 60_000)).toBe(2)
      const all = await Promise.all(
        Array.from({ length: 20 }, () => driver.increment(k('race'), 60_000)),
      )
      expect([...all].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1))
    })

    it('gives one fence token to concurrent takers and keeps it until invalidated', async () => {
      const tokens = await Promise.all(
        Array.from({ length: 20 }, () => driver.fence(k('f:fence'), 60_000)),
      )
      expect(new Set(tokens).size).toBe(1)
      expect(await driver.fence(k('f:fence'), 60_000)).toBe(tokens[0])
    })

    it('stores a fenced fill only while the fence is unchanged', async () => {
      const token = await driver.fence(k('e:fence'), 60_000)
      expect(await driver.setIfFence(k('e'), Buffer.from('v1'), 60_000, k('e:fence'), token)).toBe(
        true,
      )
      expect((await driver.get(k('e')))?.toString()).toBe('v1')
      await driver.invalidate([k('e')], [k('e:fence')], 60_000)
      expect(await driver.get(k('e'))).toBeNull()
      const next = await driver.fence(k('e:fence'), 60_000)
      expect(next).not.toBe(token)
      // A reader that took the old token before the write must not put its value back.
      expect(
        await driver.setIfFence(k('e'), Buffer.from('stale'), 60_000, k('e:fence'), token),
      ).toBe(false)
      expect(await driver.get(k('e'))).toBeNull()
      expect(await driver.setIfFence(k('e'), Buffer.from('v2'), 60_000, k('e:fence'), next)).toBe(
        true,
      )
      expect((await driver.get(k('e')))?.toString()).toBe('v2')
    })

    it('never matches an old token after the fence is lost', async () => {
      const token = await driver.fence(k('lost:fence'), 60_000)
      await driver.delete([k('lost:fence')])
      expect(
        await driver.setIfFence(k('lost'), Buffer.from('stale'), 60_000, k('lost:fence'), token),
      ).toBe(false)
      expect(await driver.fence(k('lost:fence'), 60_000)).not.toBe(token)
    })

    it('invalidates several keys and fences in one call', async () => {
      const fences = await Promise.all(
        [k('m1:fence'), k('m2:fence')].map((f) => driver.fence(f, 60_000)),
      )
      await driver.set(k('m1'), Buffer.from('1'), 60_000)
      await driver.set(k('m2'), Buffer.from('2'), 60_000)
      await driver.invalidate([k('m1'), k('m2')], [k('m1:fence'), k('m2:fence')], 60_000)
      expect(await driver.get(k('m1'))).toBeNull()
      expect(await driver.get(k('m2'))).toBeNull()
      const after = await Promise.all(
        [k('m1:fence'), k('m2:fence')].map((f) => driver.fence(f, 60_000)),
      )
      expect(after[0]).not.toBe(fences[0])
      expect(after[1]).not.toBe(fences[1])
      expect(after[0]).not.toBe(after[1])
    })

    it('claims a miss: one lease among concurrent claimers, all with the same fence token', async () => {
      const claims = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          driver.claim(k('c'), k('c:fence'), 60_000, k('c:lease'), `holder-${i}`, 60_000),
        ),
      )
      const tokens = new Set(claims.map((c) => (c.value === undefined ? c.token : 'value')))
      expect(tokens.size).toBe(1)
      expect(tokens.has('value')).toBe(false)
      const holders = claims.flatMap((c, i) => (c.value === undefined && c.leased ? [i] : []))
      expect(holders).toHaveLength(1)
      expect(await driver.fence(k('c:fence'), 60_000)).toBe([...tokens][0])

      // Another holder cannot release it; the holder can, and then the lease is free again.
      await driver.releaseLease(k('c:lease'), 'someone-else')
      const blocked = await driver.claim(k('c'), k('c:fence'), 60_000, k('c:lease'), 'x', 60_000)
      expect(blocked).toMatchObject({ leased: false })
      await driver.releaseLease(k('c:lease'), `holder-${holders[0]}`)
      const next = await driver.claim(k('c'), k('c:fence'), 60_000, k('c:lease'), 'x', 60_000)
      expect(next).toMatchObject({ leased: true })

      // Once the value is there, a claim returns it.
      await driver.set(k('c'), Buffer.from('filled'), 60_000)
      const hit = await driver.claim(k('c'), k('c:fence'), 60_000, k('c:lease'), 'y', 60_000)
      expect(hit.value?.toString()).toBe('filled')
    })

    it('lets a lease expire so a dead holder never blocks a key', async () => {
      expect(
        await driver.claim(k('x'), k('x:fence'), 60_000, k('x:lease'), 'dead', 300),
      ).toMatchObject({ leased: true })
      expect(
        await driver.claim(k('x'), k('x:fence'), 60_000, k('x:lease'), 'next', 300),
      ).toMatchObject({ leased: false })
      await new Promise((r) => setTimeout(r, 500))
      expect(
        await driver.claim(k('x'), k('x:fence'), 60_000, k('x:lease'), 'next', 300),
      ).toMatchObject({ leased: true })
    })

    it('rate-limits with GCRA: a burst, then one request per interval', async () => {
      // 5 per 5 s: one unit every second, bursts of 5. Calls here take far less than a
      // second, so no unit is earned back in between unless the test waits for it.
      const decisions = []
      for (let i = 0; i < 6; i++) decisions.push(await driver.rateLimit(k('rl:a'), 1000, 5000, 1))
      expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, true, true, false])
      expect(decisions.slice(0, 5).map((d) => d.remaining)).toEqual([4, 3, 2, 1, 0])
      const denied = decisions[5]!
      expect(denied.retryAfterMs).toBeGreaterThan(0)
      expect(denied.retryAfterMs).toBeLessThanOrEqual(1000)
      expect(denied.resetInMs).toBeGreaterThan(4000)
      await new Promise((r) => setTimeout(r, denied.retryAfterMs + 50))
      expect((await driver.rateLimit(k('rl:a'), 1000, 5000, 1)).allowed).toBe(true)
      expect((await driver.rateLimit(k('rl:a'), 1000, 5000, 1)).allowed).toBe(false)
      // Another key has its own budget; a costly request spends several units.
      expect(await driver.rateLimit(k('rl:b'), 1000, 5000, 3)).toMatchObject({
        allowed: true,
        remaining: 2,
      })
      expect((await driver.rateLimit(k('rl:b'), 1000, 5000, 3)).allowed).toBe(false)
    })

    it('rate-limits atomically under concurrency', async () => {
      const all = await Promise.all(
        Array.from({ length: 50 }, () => driver.rateLimit(k('rl:c'), 60_000, 600_000, 1)),
      )
      expect(all.filter((d) => d.allowed)).toHaveLength(10)
    })

    it('extends TTLs and deletes every key of an index at once', async () => {
      await driver.set(k('s1'), Buffer.from('1'), 60_000)
      await driver.set(k('s2'), Buffer.from('2'), 60_000)
      await driver.set(k('s3'), Buffer.from('3'), 60_000)
      expect(await driver.expire(k('s1'), 50)).toBe(true)
      expect(await driver.expire(k('absent'), 50)).toBe(false)
      await driver.indexAdd(k('idx'), k('s2'), 60_000)
      await driver.indexAdd(k('idx'), k('s3'), 60_000)
      await driver.indexAdd(k('idx'), k('gone'), 60_000)
      await driver.indexRemove(k('idx'), k('s3'))
      expect(await driver.indexDeleteAll(k('idx'))).toBe(1)
      expect(await driver.get(k('s2'))).toBeNull()
      expect((await driver.get(k('s3')))?.toString()).toBe('3')
      expect(await driver.indexDeleteAll(k('idx'))).toBe(0)
      await new Promise((r) => setTimeout(r, 120))
      expect(await driver.get(k('s1'))).toBeNull()
    })

    it('keeps expiring sets: each member lives until its own expiry, a lapsed one comes back as new', async () => {
      const set = k('who')
      expect(await driver.memberAdd(set, 'ada', 60_000)).toBe(true)
      expect(await driver.memberAdd(set, 'ada', 120_000)).toBe(false) // a refresh
      expect(await driver.memberAdd(set, 'bob', 30_000)).toBe(true)
      expect(await driver.memberAdd(set, 'eve', 200)).toBe(true)
      const live = await driver.members(set)
      // Soonest first; eve may have lapsed already on a slow machine, ada and bob have not.
      expect(live.filter((m) => m.member !== 'eve').map((m) => m.member)).toEqual(['bob', 'ada'])
      const ada = live.find((m) => m.member === 'ada')!
      expect(ada.expiresAt - Date.now()).toBeGreaterThan(60_000)
      await new Promise((r) => setTimeout(r, 400))
      expect((await driver.members(set)).map((m) => m.member)).toEqual(['bob', 'ada'])
      expect(await driver.memberRemove(set, 'eve')).toBe(false) // lapsed: not live
      expect(await driver.memberAdd(set, 'eve', 60_000)).toBe(true)
      expect(await driver.memberRemove(set, 'bob')).toBe(true)
      expect(await driver.memberRemove(set, 'bob')).toBe(false)
      expect((await driver.members(set)).map((m) => m.member).sort()).toEqual(['ada', 'eve'])
      expect(await driver.members(k('nobody'))).toEqual([])
    })

    it('counts a member as new exactly once when many add it at once', async () => {
      const added = await Promise.all(
        Array.from({ length: 20 }, () => driver.memberAdd(k('member-race'), 'ada', 60_000)),
      )
      expect(added.filter(Boolean)).toHaveLength(1)
    })

    it('deletes by prefix only what starts with it, glob characters included', async () => {
      const glob = `${prefix}g*[x]?:`
      await driver.set(`${glob}a`, Buffer.from('a'), 60_000)
      await driver.set(`${glob}b`, Buffer.from('b'), 60_000)
      await driver.set(`${prefix}gZZ:c`, Buffer.from('c'), 60_000)
      expect(await driver.deleteByPrefix(glob)).toBe(2)
      expect(await driver.get(`${glob}a`)).toBeNull()
      expect((await driver.get(`${prefix}gZZ:c`))?.toString()).toBe('c')
    })
  })
}
