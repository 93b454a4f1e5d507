import { randomBytes } from 'node:crypto'
import type { DataLayer } from '../src/index.js'
import { printTable } from './measure.js'
import { type PeerName, peerLabels, peerNames } from './peers.js'
import { runColdMissWorkers } from './workers/run-cold-miss.js'

const CALLS = 1000
const PROCESSES = 4
/** Extra time each load takes, so that misses from several processes really overlap. */
const LOAD_MS = 20

/**
 * Single flight: 1,000 concurrent reads of one cold key, and how many database loads they
 * caused, in one process and spread over 4 processes sharing one Redis (each process a
 * bench/workers/cold-miss.ts); ours against bentocache `getOrSet` and cache-manager `wrap`
 * around the same uncached read.
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
  for (const library of ['stratum', ...peerNames] as const) {
    rows.push([
      library === 'stratum' ? 'stratum-data findById' : peerLabels[library],
      await coldReads(library, 1),
      await coldReads(library, PROCESSES),
    ])
  }
  printTable(
    ['library', '1 process x 1,000', `${PROCESSES} processes x ${CALLS / PROCESSES}`],
    rows,
  )
  console.log(`goal: 1 load in both columns (each load takes ${LOAD_MS} ms more than the read)`)

  async function coldReads(library: 'stratum' | PeerName, processes: number): Promise<string> {
    const user = await newUser()
    const reports = await runColdMissWorkers(processes, {
      library,
      databaseUrl,
      redisUrl,
      prefix: fresh(),
      id: user.id,
      concurrency: CALLS / processes,
      fillDelayMs: LOAD_MS,
    })
    const loads = reports.reduce((n, r) => n + r.loads, 0)
    return reports.every((r) => r.allFound) ? String(loads) : `${loads} (some reads wrong)`
  }
}
