import { randomBytes } from 'node:crypto'
import { describe, expect, inject, it } from 'vitest'
import { runColdMissWorkers } from '../../bench/workers/run-cold-miss.js'
import { backends, backendTitle, databaseUrlOf, uniqueEmail } from '../helpers/backends.js'

const server = backends.find((b) => b.name === 'postgres')!

describe(`single flight across processes [${backendTitle(server)}, redis]`, () => {
  it('4 processes x 250 concurrent cold reads of one row make one database load', async () => {
    const redisUrl = inject('redisUrl')
    const prefix = `xproc:${randomBytes(4).toString('hex')}:`
    const data = await server.open({ redisUrl, cache: { prefix } })
    const user = await data.users.create({ email: uniqueEmail('xproc') })
    await data.cache.clear()

    const reports = await runColdMissWorkers(4, {
      library: 'stratum',
      databaseUrl: databaseUrlOf(data),
      redisUrl,
      prefix,
      id: user.id,
      concurrency: 250,
      // Holds each load's fill back, so the processes' misses overlap whatever the timing.
      fillDelayMs: 100,
    })
    expect(reports.map((r) => r.allFound)).toEqual([true, true, true, true])
    expect(reports.reduce((n, r) => n + r.loads, 0)).toBe(1)
  }, 60_000)
})
