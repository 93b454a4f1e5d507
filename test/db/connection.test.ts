import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { createDataLayer, isStratumError } from '../../src/index.js'
import { freePort } from '../../src/testing/free-port.js'
import { backends, backendTitle, uniqueEmail } from '../helpers/backends.js'
import { failure } from '../helpers/failure.js'

describe('connecting to a server', () => {
  it('gives UNAVAILABLE for a closed port, without the password', async () => {
    const port = await freePort()
    const error = await failure(() =>
      createDataLayer({
        databaseUrl: `postgres://app:pw-should-not-leak@127.0.0.1:${port}/db`,
        database: { pool: { connectionTimeoutMs: 2000 } },
      }),
    )
    expect(isStratumError(error, 'UNAVAILABLE')).toBe(true)
    expect(error.message).not.toContain('pw-should-not-leak')
    expect(JSON.stringify(error.details)).not.toContain('pw-should-not-leak')
  })

  it('gives UNAVAILABLE for a database that does not exist', async () => {
    const url = new URL(inject('postgresUrl'))
    url.pathname = '/no_such_database'
    url.password = 'pw-should-not-leak'
    const error = await failure(() => createDataLayer({ databaseUrl: url.toString() }))
    expect(error.code).toBe('UNAVAILABLE')
    expect(error.message).toContain('no_such_database')
    expect(error.message).not.toContain('pw-should-not-leak')
  })
})

for (const backend of backends) {
  describe(`lifecycle [${backendTitle(backend)}]`, () => {
    it('reports health with latency and pool figures', async () => {
      const data = await backend.open()
      const report = await data.health()
      expect(report.status).toBe('ok')
      expect(report.parts.database.status).toBe('ok')
      expect(report.parts.database.backend).toBe(backend.name)
      expect(report.parts.database.latencyMs).toBeGreaterThanOrEqual(0)
      expect(report.parts.database.pool.total).toBeGreaterThanOrEqual(1)
      expect(data.backend).toBe(backend.name)
    })

    it('closes idempotently, and refuses work afterwards with CLOSED', async () => {
      const data = await backend.open()
      await data.close()
      await data.close()
      const error = await failure(() => data.users.findByEmail('a@b.co'))
      expect(error.code).toBe('CLOSED')
      expect((await data.health()).status).toBe('down')
      await expect(data.migrate()).rejects.toMatchObject({ code: 'CLOSED' })
    })
  })
}

describe('embedded database in a directory', () => {
  const dirs: string[] = []
  afterAll(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })))
  })

  it('keeps its data across reopen and locks the directory against a second opener', async () => {
    const root = await mkdtemp(join(tmpdir(), 'stratum-dir-'))
    dirs.push(root)
    const dir = join(root, 'db')
    const first = await createDataLayer({ database: { dir } })
    await first.migrate()
    const email = uniqueEmail()
    await first.users.create({ email })

    const second = await failure(() => createDataLayer({ database: { dir } }))
    expect(second.code).toBe('LOCKED')
    expect(second.message).toContain(dir)

    await first.close()
    const reopened = await createDataLayer({ database: { dir } })
    try {
      expect((await reopened.migrationStatus()).pending).toEqual([])
      expect(await reopened.users.findByEmail(email)).toMatchObject({ email })
    } finally {
      await reopened.close()
    }
  })
})
