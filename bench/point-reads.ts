import pg from 'pg'
import type { DataLayer } from '../src/index.js'
import { compareAtConcurrencies, printTable } from './measure.js'

const USERS = 10_000
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 2000)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)

/**
 * Point reads by primary key: `data.users.findById` against raw `pg` with a named
 * prepared statement returning the same columns, at concurrency 1 and 16. Both use a
 * pool of 16 connections to the same database (see compareThroughput for the method).
 */
export async function benchPointReads(data: DataLayer, databaseUrl: string): Promise<void> {
  console.log(
    `\n## Point reads by id (${USERS.toLocaleString('en-US')} users; ${ROUNDS} alternating rounds of ${DURATION_MS} ms; medians)`,
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

  const table = await compareAtConcurrencies(rawFind, repoFind, {
    levels: [1, 16],
    durationMs: DURATION_MS,
    rounds: ROUNDS,
  })
  await raw.end()
  printTable(['concurrency', 'raw pg (prepared)', 'data.users.findById', 'ratio'], table)
  console.log('goal: ratio >= 0.85 (repository keeps at least 85% of raw pg throughput)')
}
