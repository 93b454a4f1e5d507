import { describe, expect, inject, it } from 'vitest'
import { createDataLayer } from '../../src/index.js'
import { freePort } from '../../src/testing/free-port.js'

describe('data.rateLimit', () => {
  it('is shared by every data layer on one Redis, and bad arguments are refused', async () => {
    const options = {
      redisUrl: inject('redisUrl'),
      cache: { prefix: `rl-test-${process.pid}-${Date.now()}:` },
    }
    // One after the other: PGlite's start blocks the event loop for seconds, which can
    // time out the other layer's first Redis connection (it then limits locally until
    // its reconnect, as designed, which is not what this test is about).
    const a = await createDataLayer(options)
    const b = await createDataLayer(options)
    try {
      await Promise.all([a.cache.ping(), b.cache.ping()])
      const limit = { limit: 4, periodMs: 60_000 }
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).rateLimit('ip:1', limit)),
      )
      expect(results.filter((r) => r.allowed)).toHaveLength(4)
      expect(results.every((r) => r.source === 'shared')).toBe(true)
      const denied = results.find((r) => !r.allowed)!
      expect(denied.retryAfterMs).toBeGreaterThan(0)
      expect(denied.resetAt.getTime()).toBeGreaterThan(Date.now())
      await expect(a.rateLimit('has space', limit)).rejects.toMatchObject({ code: 'INVALID_KEY' })
      await expect(a.rateLimit('k', { limit: 0, periodMs: 1000 })).rejects.toMatchObject({
        code: 'VALIDATION',
      })
      await expect(a.rateLimit('k', { limit: 1, periodMs: Number.NaN })).rejects.toMatchObject({
        code: 'VALIDATION',
      })
    } finally {
      await a.cache.clear()
      await Promise.all([a.close(), b.close()])
    }
  })

  it('keeps limiting in the process when Redis is unreachable', async () => {
    const port = await freePort()
    const data = await createDataLayer({ redisUrl: `redis://127.0.0.1:${port}` })
    try {
      const results = []
      for (let i = 0; i < 5; i++)
        results.push(await data.rateLimit('user:9', { limit: 3, periodMs: 60_000 }))
      expect(results.map((r) => r.allowed)).toEqual([true, true, true, false, false])
      expect(results.every((r) => r.source === 'local')).toBe(true)
    } finally {
      await data.close()
    }
  })
})
