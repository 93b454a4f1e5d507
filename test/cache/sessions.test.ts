import { Redis } from 'ioredis'
import { describe, expect, inject, it } from 'vitest'
import { createDataLayer, type DataLayer } from '../../src/index.js'
import { freePort } from '../../src/testing/free-port.js'

const setups: [string, () => Promise<DataLayer>][] = [
  ['memory', () => createDataLayer()],
  [
    `redis (${inject('redisDescription')})`,
    () =>
      createDataLayer({
        redisUrl: inject('redisUrl'),
        cache: { prefix: `sess-test-${process.pid}-${Date.now()}:` },
      }),
  ],
]

for (const [title, open] of setups) {
  describe(`data.sessions [${title}]`, () => {
    it('creates, reads, slides, and destroys sessions, one or all of a user', async () => {
      const data = await open()
      try {
        const a = await data.sessions.create(
          'user-1',
          { role: 'admin', at: new Date(5) },
          { ttlMs: 1000 },
        )
        expect(a.id).toMatch(/^[A-Za-z0-9_-]{43}$/)
        const b = await data.sessions.create('user-1')
        const other = await data.sessions.create('user-2')
        expect(new Set([a.id, b.id, other.id]).size).toBe(3)
        expect(await data.sessions.get(a.id)).toMatchObject({
          userId: 'user-1',
          data: { role: 'admin', at: new Date(5) },
        })

        // Sliding expiry: touching keeps it alive past its first TTL.
        await new Promise((r) => setTimeout(r, 700))
        const touched = await data.sessions.touch(a.id, { ttlMs: 1000 })
        expect(touched!.expiresAt.getTime()).toBeGreaterThan(a.expiresAt.getTime())
        await new Promise((r) => setTimeout(r, 700))
        expect(await data.sessions.get(a.id)).not.toBeNull()
        await new Promise((r) => setTimeout(r, 600))
        expect(await data.sessions.get(a.id)).toBeNull()
        expect(await data.sessions.touch(a.id)).toBeNull()

        expect(await data.sessions.destroy(b.id)).toBe(true)
        expect(await data.sessions.destroy(b.id)).toBe(false)
        const c = await data.sessions.create('user-1')
        const d = await data.sessions.create('user-1')
        expect(await data.sessions.destroyAllForUser('user-1')).toBe(2)
        expect(await data.sessions.get(c.id)).toBeNull()
        expect(await data.sessions.get(d.id)).toBeNull()
        expect(await data.sessions.get(other.id)).not.toBeNull()
        // Malformed or guessed ids are simply not found.
        expect(await data.sessions.get('not-a-session')).toBeNull()
        const guessed = `${other.id.slice(0, -1)}${other.id.endsWith('A') ? 'B' : 'A'}`
        expect(await data.sessions.get(guessed)).toBeNull()
        await expect(data.sessions.create('')).rejects.toMatchObject({ code: 'VALIDATION' })
        await expect(data.sessions.create('u', { f: () => 1 } as never)).rejects.toMatchObject({
          code: 'VALIDATION',
        })
      } finally {
        if (data.cache.kind === 'redis') await data.cache.clear()
        await data.close()
      }
    })
  })
}

describe(`session keys in Redis (${inject('redisDescription')})`, () => {
  it('hold a hash of the id, never the id itself', async () => {
    const prefix = `sess-keys-${process.pid}-${Date.now()}:`
    const data = await createDataLayer({ redisUrl: inject('redisUrl'), cache: { prefix } })
    const raw = new Redis(inject('redisUrl'))
    try {
      const { id } = await data.sessions.create('user-3')
      const keys = await raw.keys(`${prefix}*`)
      expect(keys.length).toBeGreaterThanOrEqual(2)
      expect(keys.some((key) => key.includes(id))).toBe(false)
      const values = await Promise.all(
        keys.filter((k) => k.includes('sess:')).map((k) => raw.getBuffer(k)),
      )
      expect(values.some((v) => v?.includes(Buffer.from(id)))).toBe(false)
    } finally {
      await data.cache.clear()
      raw.disconnect()
      await data.close()
    }
  })
})

describe('data.sessions with Redis unreachable', () => {
  it('fails with UNAVAILABLE and without the session id in the message', async () => {
    const port = await freePort()
    const data = await createDataLayer({ redisUrl: `redis://127.0.0.1:${port}` })
    try {
      await expect(data.sessions.create('u')).rejects.toMatchObject({ code: 'UNAVAILABLE' })
      const id = 'A'.repeat(43)
      const error = await data.sessions.get(id).catch((e: Error) => e)
      expect(error).toMatchObject({ code: 'UNAVAILABLE' })
      expect((error as Error).message).not.toContain(id)
    } finally {
      await data.close()
    }
  })
})
