import { randomBytes } from 'node:crypto'
import { describe, expect, inject, it } from 'vitest'
import {
  Cache,
  type CacheDriver,
  type CacheEvent,
  memoryDriver,
  redisDriver,
} from '../../src/cache/index.js'
import { freePort } from '../../src/testing/free-port.js'

const drivers: [string, () => CacheDriver][] = [
  ['memory', () => memoryDriver()],
  [`redis (${inject('redisDescription')})`, () => redisDriver({ url: inject('redisUrl') })],
]

for (const [title, makeDriver] of drivers) {
  describe(`Cache [${title}]`, () => {
    const open = () =>
      new Cache(makeDriver(), {
        prefix: `test:${randomBytes(4).toString('hex')}:`,
        maxValueBytes: 4096,
      })

    it('keeps types through a round trip: Date, bigint, Buffer, Uint8Array, null, jsonb-like objects', async () => {
      const cache = open()
      const row = {
        id: '01a20561-2316-7575-87eb-a1109592e9be',
        createdAt: new Date('2026-11-22T22:23:31.703Z'),
        views: 2n ** 63n - 1n,
        avatar: Buffer.from([0, 1, 2, 255]),
        raw: new Uint8Array([9, 8, 7]),
        lastLogin: null,
        metadata: { tags: ['a', 'b'], nested: { deep: [1, { x: true }] }, when: new Date(0) },
      }
      await cache.set('row', row)
      const back = await cache.get<typeof row>('row')
      expect(back).toStrictEqual(row)
      expect(Buffer.isBuffer(back!.avatar)).toBe(true)
      expect(back!.raw).toBeInstanceOf(Uint8Array)
      expect(Buffer.isBuffer(back!.raw)).toBe(false)
      expect(back!.createdAt).toBeInstanceOf(Date)
      expect(typeof back!.views).toBe('bigint')
      await cache.set('null', null)
      expect(await cache.get('null')).toBeNull()
      expect(await cache.get('never-set')).toBeUndefined()
      expect(cache.stats()).toMatchObject({ hits: 2, misses: 1, sets: 2 })
      await cache.clear()
      await cache.close()
    })

    it('refuses values it cannot store with VALIDATION, counted as bypasses, leaving the old entry', async () => {
      const cache = open()
      const events: CacheEvent[] = []
      cache.subscribe((e) => events.push(e))
      await cache.set('k', 'old')
      await expect(cache.set('k', 'x'.repeat(10_000))).rejects.toMatchObject({ code: 'VALIDATION' })
      await expect(cache.set('k', { fn: () => 1 })).rejects.toMatchObject({ code: 'VALIDATION' })
      await expect(cache.set('k', Symbol('s'))).rejects.toMatchObject({ code: 'VALIDATION' })
      expect(await cache.get('k')).toBe('old')
      expect(cache.stats().bypasses).toBe(3)
      expect(events.filter((e) => e.type === 'bypasses')).toHaveLength(3)
      const cyclic: Record<string, unknown> = { name: 'loop' }
      cyclic.self = cyclic
      await cache.set('cyclic', cyclic)
      const back = await cache.get<Record<string, unknown>>('cyclic')
      expect(back!.self).toBe(back)
      await cache.clear()
      await cache.close()
    })

    it('refuses unsafe keys with INVALID_KEY before touching the backend', async () => {
      const cache = open()
      for (const key of ['', 'has space', 'new\nline', 'nul\u0000', 'x'.repeat(1025)]) {
        await expect(cache.get(key)).rejects.toMatchObject({ code: 'INVALID_KEY' })
        await expect(cache.set(key, 1)).rejects.toMatchObject({ code: 'INVALID_KEY' })
        // A rejection, never a synchronous throw: callers chain on the promise.
        const reading = cache.readThrough(key, async () => 1, { ttlMs: 1000 })
        await expect(reading).rejects.toMatchObject({ code: 'INVALID_KEY' })
      }
      expect(cache.stats()).toMatchObject({ hits: 0, misses: 0, sets: 0, errors: 0 })
      await cache.close()
    })

    it('clears only its own prefix', async () => {
      const a = open()
      const b = open()
      await a.set('same', 'a')
      await b.set('same', 'b')
      await a.clear()
      expect(await a.get('same')).toBeUndefined()
      expect(await b.get('same')).toBe('b')
      await b.clear()
      await Promise.all([a.close(), b.close()])
    })
  })
}

describe('Cache with Redis unreachable', () => {
  it('answers gets as misses and sets as not stored, counting errors, without throwing', async () => {
    const port = await freePort()
    const cache = new Cache(redisDriver({ url: `redis://127.0.0.1:${port}` }), { prefix: 'down:' })
    const events: CacheEvent[] = []
    cache.subscribe((e) => events.push(e))
    expect(await cache.get('k')).toBeUndefined()
    expect(await cache.set('k', 1)).toBe(false)
    expect(await cache.delete('k')).toBe(false)
    expect(cache.stats()).toMatchObject({ errors: 3, hits: 0, misses: 0, sets: 0 })
    expect(events.every((e) => e.type === 'errors' && e.error instanceof Error)).toBe(true)
    await expect(cache.ping()).rejects.toBeDefined()
    await cache.close()
  })
})
