import { randomBytes } from 'node:crypto'
import { createDataLayer, type DataLayer } from '../src/index.js'
import { printTable } from './measure.js'
import { openPeer, type PeerName, peerNames } from './peers.js'
import { runColdMissWorkers } from './workers/run-cold-miss.js'

const CALLS = 1000
const PROCESSES = 4

/**
 * Single flight: 1,000 concurrent reads of one cold key, and how many database loads they
 * caused, in one process and spread over 4 processes sharing one Redis; ours against
 * bentocache `getOrSet` and cache-manager `wrap` around the same uncached read.
 */
export async function benchColdMisses(
  uncached: DataLayer,
  databaseUrl: string,
  redisUrl: string,
): Promise<void> {
  console.log(
    `\n## ${CALLS.toLocaleString('en-US')} concurrent reads of one cold key: database loads`,
  )
  const fresh = () => `bench-cold-${randomBytes(4).toString('hex')}:`
  const newUser = () =>
    uncached.users.create({ email: `cold.${randomBytes(6).toString('hex')}@example.com` })

  const rows: string[][] = []
  {
    const cached = await createDataLayer({ databaseUrl, redisUrl, cache: { prefix: fresh() } })
    const user = await newUser()
    const before = cached.cache.stats().loads
    await Promise.all(Array.from({ length: CALLS }, () => cached.users.findById(user.id)))
    const oneProcess = cached.cache.stats().loads - before
    await cached.cache.clear()
    await cached.close()
    rows.push(['stratum-data findById', String(oneProcess), await acrossProcesses('stratum')])
  }
  for (const name of peerNames) {
    const peer = openPeer(name, redisUrl, fresh())
    const user = await newUser()
    let loads = 0
    await Promise.all(
      Array.from({ length: CALLS }, () =>
        peer.getOrLoad(`user:${user.id}`, () => {
          loads++
          return uncached.users.findById(user.id)
        }),
      ),
    )
    await peer.close()
    rows.push([peer.name, String(loads), await acrossProcesses(name)])
  }
  printTable(['library', '1 process', `${PROCESSES} processes x ${CALLS / PROCESSES}`], rows)
  console.log('goal: 1 load in both columns')

  async function acrossProcesses(library: 'stratum' | PeerName): Promise<string> {
    const user = await newUser()
    const reports = await runColdMissWorkers(PROCESSES, {
      library,
      databaseUrl,
      redisUrl,
      prefix: fresh(),
      id: user.id,
      concurrency: CALLS / PROCESSES,
    })
    const loads = reports.reduce((n, r) => n + r.loads, 0)
    return reports.every((r) => r.allFound) ? String(loads) : `${loads} (some reads wrong)`
  }
}
