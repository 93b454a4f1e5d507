import pg from 'pg'
import type { DataLayer } from '../src/index.js'
import { formatRate, measureThroughput, printTable } from './measure.js'

const USERS = 10_000
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 3000)
const ROUNDS = 3

/**
 * Point reads by primary key: `data.users.findById` against raw `pg` with a named
 * prepared statement returning the same columns, at concurrency 1 and 16. Both use a
 * pool of 16 connections to the same database; rounds alternate which goes first and
 * the best round of each counts.
 */
export async function benchPointReads(data: DataLayer, databaseUrl: string): Promise<void> {
  console.log(
    `\n## Point reads by id (${USERS.toLocaleString('en-US')} users, ${DURATION_MS} ms per run, best of ${ROUNDS})`,
  )
  const rows = await data.users.createMany(
    Array.from({ length: USERS }, (_, i) => ({
      email: `bench.${i}@example.com`,
      firstName: `First ${i}`,
      lastName: `Last ${i}`,
    })),
  )
  const ids = rows.map((r) => r.id)
  const raw = new pg.Pool({ connectionString: databaseUrl, max: 16 })
  const text =
    'select id, email, email_verified, first_name, last_name, created_at, updated_at, last_login from users where id = $1 limit 1'
  const rawFind = (i: number) =>
    raw.query({ name: 'bench_raw_find_user', text, values: [ids[i % USERS]] })
  const repoFind = (i: number) => data.users.findById(ids[i % USERS]!)

  // Warm both pools and prepared statements on every connection.
  await Promise.all(Array.from({ length: 64 }, (_, i) => Promise.all([rawFind(i), repoFind(i)])))

  const table: string[][] = []
  for (const concurrency of [1, 16]) {
    let bestRaw = 0
    let bestRepo = 0
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? ['raw', 'repo'] : ['repo', 'raw']
      for (const which of order) {
        const result = await measureThroughput(which === 'raw' ? rawFind : repoFind, {
          concurrency,
          durationMs: DURATION_MS,
        })
        if (which === 'raw') bestRaw = Math.max(bestRaw, result.opsPerSecond)
        else bestRepo = Math.max(bestRepo, result.opsPerSecond)
      }
    }
    table.push([
      String(concurrency),
      formatRate(bestRaw),
      formatRate(bestRepo),
      (bestRepo / bestRaw).toFixed(2),
    ])
  }
  await raw.end()
  printTable(['concurrency', 'raw pg (prepared)', 'data.users.findById', 'ratio'], table)
  console.log('goal: ratio >= 0.85 (repository keeps at least 85% of raw pg throughput)')
}
