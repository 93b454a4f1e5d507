import { rm } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createDataLayer,
  type DataLayer,
  type DataLayerOptions,
  isStratumError,
} from '../../src/index.js'
import { failure } from '../helpers/failure.js'
import {
  makeCertificates,
  startTlsPostgres,
  startTlsRedis,
  type TestCertificates,
} from '../helpers/tls-servers.js'

// Issue #17 items 5, 6, 10-12, 20: a PostgreSQL and a Redis of the test's own that accept
// TLS only, with certificates from a CA made for the run (openssl). The certificate names
// localhost and 127.0.0.1, nothing else.

const PASSWORD = 'hunter2-never-printed'

describe('TLS to PostgreSQL and Redis, against servers that accept TLS only', () => {
  let certs: TestCertificates
  let pgPort: number
  let stopPostgres: () => Promise<void>
  let redisPort: number
  let stopRedis: () => Promise<void>
  const layers: DataLayer[] = []
  beforeAll(async () => {
    certs = await makeCertificates()
    const [postgres, redis] = await Promise.all([startTlsPostgres(certs), startTlsRedis(certs)])
    pgPort = postgres.port
    stopPostgres = () => postgres.stop()
    redisPort = redis.port
    stopRedis = () => redis.stop()
  })
  afterAll(async () => {
    await Promise.allSettled(layers.map((layer) => layer.close()))
    await Promise.allSettled([stopPostgres?.(), stopRedis?.()])
    if (certs) await rm(certs.dir, { recursive: true, force: true })
  })

  const url = (host = '127.0.0.1', query = '') =>
    `postgres://postgres:${PASSWORD}@${host}:${pgPort}/postgres${query}`
  const open = async (options: DataLayerOptions) => {
    const data = await createDataLayer({
      embeddings: { dimensions: 3 },
      database: { pool: { connectionTimeoutMs: 5_000 }, ...options.database },
      ...options,
    })
    layers.push(data)
    return data
  }
  const encrypted = async (data: DataLayer) =>
    (
      await data.db.execute<{ ssl: boolean }>(
        (
          await import('drizzle-orm')
        ).sql`select ssl from pg_stat_ssl where pid = pg_backend_pid()`,
      )
    ).rows[0]?.ssl

  it('connects with verify-full given the CA, by option and by URL', async () => {
    const byOption = await open({ databaseUrl: url(), database: { tls: { ca: certs.ca } } })
    expect(await encrypted(byOption)).toBe(true)
    const byUrl = await open({
      databaseUrl: url('localhost', `?sslmode=verify-full&sslrootcert=${certs.files.ca}`),
    })
    expect(await encrypted(byUrl)).toBe(true)
  })

  it('refuses a certificate from another CA with TLS (untrusted-certificate), naming the option, never the password', async () => {
    const error = await failure(() =>
      open({ databaseUrl: url(), database: { tls: { ca: certs.otherCa } } }),
    )
    expect(error.code).toBe('TLS')
    expect(error.details.tls).toBe('untrusted-certificate')
    expect(error.message).toContain('database.tls.ca')
    expect(error.message).not.toContain(PASSWORD)
  })

  it('pins the host name with tls.servername, whatever host the URL names', async () => {
    const pinnedWrong = await failure(() =>
      open({
        databaseUrl: url('localhost'),
        database: { tls: { ca: certs.ca, servername: 'db.example.com' } },
      }),
    )
    expect(pinnedWrong.code).toBe('TLS')
    expect(pinnedWrong.details.tls).toBe('hostname-mismatch')
    const pinnedRight = await open({
      databaseUrl: url('127.0.0.1'),
      database: { tls: { ca: certs.ca, servername: 'localhost' } },
    })
    expect(await encrypted(pinnedRight)).toBe(true)
  })

  it('is refused in plaintext by the server, with TLS (tls-required) and a fix', async () => {
    const error = await failure(() => open({ databaseUrl: url(), database: { tls: false } }))
    expect(error.code).toBe('TLS')
    expect(error.details.tls).toBe('tls-required')
    expect(error.message).toContain('sslmode=verify-full')
    expect(error.message).not.toContain(PASSWORD)
  })

  it('means verify-full by sslmode=require (pinned here, whatever pg does next); no-verify and rejectUnauthorized: false opt out', async () => {
    for (const mode of ['require', 'prefer', 'verify-ca']) {
      const error = await failure(() => open({ databaseUrl: url('127.0.0.1', `?sslmode=${mode}`) }))
      expect(error.code, mode).toBe('TLS')
      expect(error.details.tls, mode).toBe('untrusted-certificate')
    }
    const noVerify = await open({ databaseUrl: url('127.0.0.1', '?sslmode=no-verify') })
    expect(await encrypted(noVerify)).toBe(true)
    const optOut = await open({
      databaseUrl: url(),
      database: { tls: { rejectUnauthorized: false } },
    })
    expect(await encrypted(optOut)).toBe(true)
  })

  it('caches over rediss:// with cache.redis.tls, and from the environment', async () => {
    const database = { databaseUrl: url(), database: { tls: { ca: certs.ca } } }
    const data = await open({
      ...database,
      redisUrl: `rediss://127.0.0.1:${redisPort}`,
      cache: { redis: { tls: { ca: certs.ca } } },
    })
    await data.migrate()
    expect(await data.cache.set('tls-probe', { ok: 1 })).toBe(true)
    expect(await data.cache.get('tls-probe')).toEqual({ ok: 1 })
    expect((await data.health()).parts.cache.status).toBe('ok')

    const fromEnv = await createDataLayer.fromEnv({
      DATABASE_URL: url('localhost', `?sslmode=verify-full&sslrootcert=${certs.files.ca}`),
      REDIS_URL: `rediss://localhost:${redisPort}`,
      REDIS_TLS_CA_FILE: certs.files.ca,
      STRATUM_EMBEDDING_DIMENSIONS: '3',
    })
    layers.push(fromEnv)
    expect(await fromEnv.cache.set('tls-env', 2)).toBe(true)
    expect(await fromEnv.cache.get('tls-env')).toBe(2)
  })

  it('fails closed on a Redis it cannot verify: health names the certificate, calls are served from Postgres', async () => {
    const data = await open({
      databaseUrl: url(),
      database: { tls: { ca: certs.ca } },
      redisUrl: `rediss://127.0.0.1:${redisPort}`,
      cache: { redis: { tls: { ca: certs.otherCa } } },
    })
    await data.migrate()
    const user = await data.users.create({ email: `tls-${Date.now()}@example.com` })
    expect((await data.users.findById(user.id))?.id).toBe(user.id)
    expect(await data.cache.set('never', 1)).toBe(false)
    const health = await data.health()
    expect(health.status).toBe('degraded')
    expect(health.parts.cache.status).toBe('down')
    expect(health.parts.cache.error?.message).toContain('cache.redis.tls.ca')
    expect(health.parts.cache.error?.message).toContain(`127.0.0.1:${redisPort}`)
  })

  it('says where and why when Redis refuses connections, without the password', async () => {
    const data = await open({
      databaseUrl: url(),
      database: { tls: { ca: certs.ca } },
      redisUrl: `redis://:${PASSWORD}@127.0.0.1:1`,
    })
    const health = await data.health()
    expect(health.parts.cache.status).toBe('down')
    expect(health.parts.cache.error?.message).toContain('connection refused at 127.0.0.1:1')
    expect(JSON.stringify(health)).not.toContain(PASSWORD)
    expect(isStratumError(await failure(() => data.users.findById('nope')), 'VALIDATION')).toBe(
      true,
    )
  })
})
