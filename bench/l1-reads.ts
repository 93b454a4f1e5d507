import { randomBytes } from 'node:crypto'
import type { DataLayer } from '../src/index.js'
import { compareAtConcurrencies, printTable } from './measure.js'
import { openPeer } from './peers.js'

const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 2000)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)

/**
 * L1 hits: `findById` with the L1 tier on, against bentocache `getOrSet` with its memory
 * L1, Redis L2 and Redis bus, on the same rows (every call a hit in process memory).
 */
export async function benchL1Reads(
  withL1: DataLayer,
  uncached: DataLayer,
  ids: readonly string[],
  redisUrl: string,
): Promise<void> {
  console.log(
    `\n## L1 hits (${ids.length} users; ${ROUNDS} alternating rounds of ${DURATION_MS} ms; medians)`,
  )
  const bento = openPeer('bentocache', redisUrl, `bench-bento-${randomBytes(3).toString('hex')}`)
  try {
    const viaBento = (i: number) => {
      const id = ids[i % ids.length]!
      return bento.getOrLoad(`user:${id}`, () => uncached.users.findById(id))
    }
    const viaL1 = (i: number) => withL1.users.findById(ids[i % ids.length]!)
    for (let i = 0; i < ids.length; i++) {
      await viaBento(i)
      await viaL1(i)
      await viaL1(i) // the first read after a fill may come from Redis
    }
    const before = withL1.cache.stats()
    const table = await compareAtConcurrencies(viaBento, viaL1, {
      levels: [1, 16],
      durationMs: DURATION_MS,
      rounds: ROUNDS,
    })
    const after = withL1.cache.stats()
    printTable(['concurrency', bento.name, 'findById with L1 (hit)', 'ratio'], table)
    const share = (after.l1Hits - before.l1Hits) / Math.max(1, after.hits - before.hits)
    console.log(
      `goal: ratio >= 1.0; ${(share * 100).toFixed(1)}% of our hits came from the L1. bentocache's L1 keeps JSON (Dates come back as strings); ours returns typed copies.`,
    )
  } finally {
    await bento.close()
  }
}
