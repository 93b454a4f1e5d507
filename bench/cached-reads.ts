import { Redis } from 'ioredis'
import type { DataLayer } from '../src/index.js'
import { compareThroughput, formatRate, printTable } from './measure.js'

const USERS = 1000
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 2000)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)

/**
 * Cache hits: `data.users.findById` served from Redis against raw ioredis `GET` +
 * `JSON.parse` of the same row, and against the same call with caching off (the
 * database read it saves).
 */
export async function benchCachedReads(
  cached: DataLayer,
  uncached: DataLayer,
  redisUrl: string,
): Promise<string[]> {
  const rows = await cached.users.createMany(
    Array.from({ length: USERS }, (_, i) => ({
      email: `cached.${i}@example.com`,
      firstName: `First name number ${i} `.repeat(8).slice(0, 180),
      lastName: `Last name number ${i} `.repeat(8).slice(0, 180),
    })),
  )
  const ids = rows.map((r) => r.id)
  const rowBytes = Buffer.byteLength(JSON.stringify(rows[0]))
  console.log(
    `\n## Cache hits (${USERS} users of ~${rowBytes} bytes as JSON; ${ROUNDS} alternating rounds of ${DURATION_MS} ms; medians)`,
  )
  const raw = new Redis(redisUrl)
  await Promise.all(rows.map((row) => raw.set(`bench-raw:${row.id}`, JSON.stringify(row))))
  for (const id of ids) await cached.users.findById(id) // warm: every read below is a hit
  const rawGet = async (i: number) => JSON.parse((await raw.get(`bench-raw:${ids[i % USERS]}`))!)
  const cachedFind = (i: number) => cached.users.findById(ids[i % USERS]!)
  const uncachedFind = (i: number) => uncached.users.findById(ids[i % USERS]!)

  const table: string[][] = []
  for (const concurrency of [1, 16]) {
    const vsRaw = await compareThroughput(rawGet, cachedFind, {
      concurrency,
      durationMs: DURATION_MS,
      rounds: ROUNDS,
    })
    const vsDb = await compareThroughput(uncachedFind, cachedFind, {
      concurrency,
      durationMs: DURATION_MS,
      rounds: ROUNDS,
    })
    table.push([
      String(concurrency),
      formatRate(vsRaw.baseline),
      formatRate(vsRaw.subject),
      vsRaw.ratio.toFixed(2),
      formatRate(vsDb.baseline),
      `${vsDb.ratio.toFixed(2)}x`,
    ])
  }
  const hits = cached.cache.stats()
  raw.disconnect()
  printTable(
    [
      'concurrency',
      'raw ioredis GET+JSON.parse',
      'cached findById (hit)',
      'ratio',
      'uncached findById',
      'hit speed-up',
    ],
    table,
  )
  console.log(
    `goal: ratio >= 0.8 of raw ioredis; cache stats: ${hits.hits} hits, ${hits.misses} misses, ${hits.errors} errors`,
  )
  return ids
}
