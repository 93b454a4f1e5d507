import { describe, expect, inject, it } from 'vitest'
import { createDataLayer } from '../../src/index.js'
import { freePort } from '../../src/testing/free-port.js'
import { uniqueEmail } from '../helpers/backends.js'

describe('the data layer cache', () => {
  it('is the in-process LRU by default and reports healthy', async () => {
    const data = await createDataLayer()
    try {
      expect(data.cache.kind).toBe('memory')
      await data.cache.set('k', { at: new Date(1) })
      expect(await data.cache.get('k')).toEqual({ at: new Date(1) })
      const report = await data.health()
      expect(report.status).toBe('ok')
      expect(report.parts.cache).toMatchObject({
        status: 'ok',
        backend: 'memory',
        stats: { sets: 1, hits: 1 },
      })
    } finally {
      await data.close()
    }
  })

  it('uses Redis from REDIS_URL, under the configured prefix', async () => {
    const data = await createDataLayer.fromEnv({
      REDIS_URL: inject('redisUrl'),
      STRATUM_CACHE_PREFIX: `layer-test-${process.pid}:`,
    })
    try {
      expect(data.cache.kind).toBe('redis')
      expect(data.cache.prefix).toBe(`layer-test-${process.pid}:`)
      await data.cache.set('k', 42n)
      expect(await data.cache.get('k')).toBe(42n)
      expect((await data.health()).parts.cache).toMatchObject({ status: 'ok', backend: 'redis' })
      await data.cache.clear()
    } finally {
      await data.close()
    }
  })

  it('with Redis unreachable, reports degraded while the database keeps serving', async () => {
    const port = await freePort()
    const data = await createDataLayer({ redisUrl: `redis://:secret-pw@127.0.0.1:${port}` })
    try {
      await data.migrate()
      const user = await data.users.create({ email: uniqueEmail() })
      expect(await data.users.findById(user.id)).toMatchObject({ id: user.id })
      expect(await data.cache.get('anything')).toBeUndefined()
      const report = await data.health()
      expect(report.status).toBe('degraded')
      expect(report.parts.database.status).toBe('ok')
      expect(report.parts.cache.status).toBe('down')
      expect(report.parts.cache.error?.code).toBe('UNAVAILABLE')
      expect(JSON.stringify(report)).not.toContain('secret-pw')
    } finally {
      await data.close()
    }
  })

  it('refuses a malformed REDIS_URL with CONFIG', async () => {
    await expect(createDataLayer({ redisUrl: 'http://cache:6379' })).rejects.toMatchObject({
      code: 'CONFIG',
    })
  })
})
