/**
 * One process of the cross-process cold-miss measurement (used by the bench and by
 * test/cache/cross-process-single-flight.test.ts). It connects, prints `ready`, waits for
 * `go` on stdin, then makes `concurrency` concurrent reads of one key that is in no cache
 * and prints a JSON line: how many database loads this process made and whether every read
 * returned the row.
 *
 * Usage: tsx bench/workers/cold-miss.ts '<json: { library, databaseUrl, redisUrl, prefix, id, concurrency, fillDelayMs? }>'
 */
import { createInterface } from 'node:readline'
import { CACHE_TEST_HOOKS } from '../../src/cache/test-hooks.js'
import { createDataLayer } from '../../src/index.js'
import { openPeer, type PeerName } from '../peers.js'

interface WorkerInput {
  /** Our cached repository, or a peer library's cache-aside call around the uncached read. */
  library: 'stratum' | PeerName
  databaseUrl: string
  redisUrl: string
  prefix: string
  id: string
  concurrency: number
  /**
   * Makes each load take this much longer (a slower query): for us between the database
   * read and the cache fill, for a peer inside its factory.
   */
  fillDelayMs?: number
}

const input = JSON.parse(process.argv[2] ?? '{}') as WorkerInput
const stratum = input.library === 'stratum'
const data = await createDataLayer({
  databaseUrl: input.databaseUrl,
  database: { pool: { max: 4 } },
  ...(stratum
    ? {
        redisUrl: input.redisUrl,
        cache: { prefix: input.prefix },
        ...(input.fillDelayMs
          ? {
              [CACHE_TEST_HOOKS]: {
                beforeFill: () => new Promise<void>((r) => setTimeout(r, input.fillDelayMs)),
              },
            }
          : {}),
      }
    : { cache: { entities: { enabled: false } } }),
})
const peer = stratum ? undefined : openPeer(input.library as PeerName, input.redisUrl, input.prefix)
let peerLoads = 0
const read = peer
  ? () =>
      peer.getOrLoad(`user:${input.id}`, async () => {
        peerLoads++
        const row = await data.users.findById(input.id)
        if (input.fillDelayMs) await new Promise((r) => setTimeout(r, input.fillDelayMs))
        return row
      })
  : () => data.users.findById(input.id)
// Warm the pool and the prepared statement on another id, so the measured reads are cold
// only in the cache.
await data.users.findById('00000000-0000-7000-8000-000000000000')
const loadsBefore = data.cache.stats().loads

const lines = createInterface({ input: process.stdin })
process.stdout.write('ready\n')
for await (const line of lines) {
  if (line.trim() !== 'go') continue
  const rows = await Promise.all(Array.from({ length: input.concurrency }, read))
  const stats = data.cache.stats()
  process.stdout.write(
    `${JSON.stringify({
      loads: peer ? peerLoads : stats.loads - loadsBefore,
      leaseWaits: stats.leaseWaits,
      allFound: rows.every((row) => row?.id === input.id),
    })}\n`,
  )
  break
}
lines.close()
await peer?.close()
await data.close()
