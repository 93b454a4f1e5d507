import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createDataLayer, type DataLayer, isStratumError } from '../../src/index.js'
import { type LocalPostgres, startLocalPostgres } from '../../src/testing/local-postgres.js'
import { failure } from '../helpers/failure.js'
import { waitFor } from '../helpers/wait-for.js'

// Issue #17 item 22: a service that starts during a database outage. With
// database.startWhenDown the layer opens, serves its cache and blob store, fails database
// calls with UNAVAILABLE, and connects once the server is back; without it, it refuses.

describe('starting while PostgreSQL is down', () => {
  let server: LocalPostgres
  let dir: string
  const layers: DataLayer[] = []
  beforeAll(async () => {
    server = await startLocalPostgres()
    dir = await mkdtemp(join(tmpdir(), 'stratum-down-'))
    const first = await createDataLayer({ databaseUrl: server.url, embeddings: { dimensions: 3 } })
    await first.migrate()
    await first.close()
    await server.halt()
  })
  afterAll(async () => {
    await Promise.allSettled(layers.map((layer) => layer.close()))
    await server?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('refuses to start by default, and starts degraded with startWhenDown, connecting once the server is back', async () => {
    const options = {
      databaseUrl: server.url,
      redisUrl: inject('redisUrl'),
      embeddings: { dimensions: 3 },
      blobs: { dir },
      database: { pool: { connectionTimeoutMs: 1_000 }, replicaProbeMs: 100 },
    }
    const refused = await failure(() => createDataLayer(options))
    expect(refused.code).toBe('UNAVAILABLE')

    const data = await createDataLayer({
      ...options,
      database: { ...options.database, startWhenDown: true },
    })
    layers.push(data)
    const health = await data.health()
    expect(health.status).toBe('down')
    expect(health.parts.database.status).toBe('down')
    expect(health.parts.cache.status).toBe('ok')
    expect(await data.cache.set('while-down', 1)).toBe(true)
    expect(await data.cache.get('while-down')).toBe(1)
    await data.blobs.put('while-down.txt', 'kept')
    expect((await data.blobs.get('while-down.txt')).toString()).toBe('kept')
    const call = await failure(() => data.users.findById('01890a5d-ac96-774b-bcce-b302099a8057'))
    expect(call.code).toBe('UNAVAILABLE')

    await server.resume()
    await waitFor(
      'the database to be reached',
      async () => (await data.health()).status === 'ok',
      30_000,
    )
    const user = await data.users.create({ email: `back-${Date.now()}@example.com` })
    expect((await data.users.findById(user.id))?.email).toBe(user.email)
  })

  it('fails every call with the check it could not pass once the server answers (a dimension mismatch)', async () => {
    await server.halt()
    const data = await createDataLayer({
      databaseUrl: server.url,
      embeddings: { dimensions: 5 },
      blobs: { dir },
      database: { pool: { connectionTimeoutMs: 1_000 }, replicaProbeMs: 100, startWhenDown: true },
    })
    layers.push(data)
    await server.resume()
    await waitFor(
      'the dimension check',
      async () => (await data.health()).parts.database.error?.code === 'DIMENSION_MISMATCH',
      30_000,
    )
    const error = await data.users.count().catch((e: unknown) => e)
    expect(isStratumError(error, 'DIMENSION_MISMATCH')).toBe(true)
  })
})
