import { randomBytes } from 'node:crypto'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import type { CacheDriver } from '../../src/cache/cache-driver.js'
import { coordinationOf } from '../../src/cache/coordination.js'
import { memoryDriver, redisDriver } from '../../src/cache/index.js'
import { coordinationContract } from '../../src/testing/contracts/index.js'
import { anyInput, anyText, propertyOptions, settle } from '../helpers/property.js'
import { waitFor } from '../helpers/wait-for.js'

// One contract for what resumable streams and live state run on: the in-process default and
// Redis pub/sub (single node and Cluster) pass the same tests.
const api = { afterAll, beforeAll, describe, expect, it }
const drivers: CacheDriver[] = []
const limits = { maxValueBytes: 1024 * 1024, closed: () => false }
afterAll(async () => {
  await Promise.all(drivers.map((d) => d.close()))
})
const on = (driver: CacheDriver) => {
  drivers.push(driver)
  return coordinationOf(driver, `co-${randomBytes(3).toString('hex')}:`, limits)
}

coordinationContract(api, 'memory: this process', () => {
  const co = on(memoryDriver())
  expect(co.scope).toBe('process')
  return co
})
coordinationContract(api, `redis (${inject('redisDescription')})`, () => {
  const co = on(redisDriver({ url: inject('redisUrl') }))
  expect(co.scope).toBe('shared')
  return co
})
coordinationContract(api, inject('redisClusterDescription'), async () => {
  const driver = redisDriver({ clusterNodes: inject('redisClusterNodes') })
  await waitFor('the cluster to answer', () =>
    driver.ping().then(
      () => true,
      () => false,
    ),
  )
  return on(driver)
})

describe('Redis coordination across processes', () => {
  it('a message published by one driver reaches the subscribers of another', async () => {
    const prefix = `co-x-${randomBytes(3).toString('hex')}:`
    const a = redisDriver({ url: inject('redisUrl') })
    const b = redisDriver({ url: inject('redisUrl') })
    drivers.push(a, b)
    const got: string[] = []
    const sub = await coordinationOf(b, prefix, limits).subscribe('ch', (m) => got.push(m))
    await coordinationOf(a, prefix, limits).publish('ch', 'hello')
    await waitFor('the message to cross', async () => got.length === 1)
    expect(got).toEqual(['hello'])
    // And a counter is one counter for both.
    expect(await coordinationOf(a, prefix, limits).increment('n', 60_000)).toBe(1)
    expect(await coordinationOf(b, prefix, limits).increment('n', 60_000)).toBe(2)
    await sub.close()
  })
})

// Valid TTLs long enough that nothing expires between the write and the read back: a
// 13 ms TTL once expired under a busy CI machine. Short TTLs have their own contract test.
const liveTtlMs = fc.integer({ min: 60_000, max: 86_400_000 })

describe('coordination inputs, generated', () => {
  it('stores any string under any name exactly, or refuses it (INVALID_KEY, VALIDATION) storing nothing', async () => {
    const co = on(memoryDriver())
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string({ maxLength: 20 }), anyText, anyInput),
        fc.oneof(fc.string({ unit: 'grapheme', maxLength: 50 }), anyInput),
        fc.oneof(liveTtlMs, anyInput),
        async (name, value, ttlMs) => {
          const before = await settle(() => co.get(name as never), ['INVALID_KEY'])
          const stored = await settle(
            () => co.set(name as never, value as never, ttlMs as never),
            ['INVALID_KEY', 'VALIDATION'],
          )
          if (stored.ok) expect(await co.get(name as string)).toBe(value)
          else if (before.ok) expect(await co.get(name as string)).toBe(before.value)
        },
      ),
      propertyOptions(150),
    )
  })

  it('adds any member to any set or refuses it (INVALID_KEY, VALIDATION), adding nothing', async () => {
    const co = on(memoryDriver())
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string({ maxLength: 20 }), anyText, anyInput),
        fc.oneof(fc.string({ unit: 'grapheme', maxLength: 50 }), anyInput),
        fc.oneof(liveTtlMs, anyInput),
        async (set, member, ttlMs) => {
          const before = await settle(() => co.members(set as never), ['INVALID_KEY'])
          const added = await settle(
            () => co.addMember(set as never, member as never, ttlMs as never),
            ['INVALID_KEY', 'VALIDATION'],
          )
          if (!before.ok) return
          const after = (await co.members(set as string)).map((m) => m.member)
          if (added.ok) expect(after).toContain(member)
          else expect(after).toEqual(before.value.map((m) => m.member))
        },
      ),
      propertyOptions(150),
    )
  })

  it('is CLOSED after the cache closed', async () => {
    const co = coordinationOf(memoryDriver(), 'closed:', { ...limits, closed: () => true })
    await expect(co.get('k')).rejects.toMatchObject({ code: 'CLOSED' })
    await expect(co.subscribe('c', () => {})).rejects.toMatchObject({ code: 'CLOSED' })
  })
})
