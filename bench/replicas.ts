import pg from 'pg'
import { createDataLayer } from '../src/index.js'
import { startLocalPgBouncer } from '../src/testing/local-pgbouncer.js'
import { startLocalPostgres, startLocalReplica } from '../src/testing/local-postgres.js'
import { compareAtConcurrencies, printTable } from './measure.js'

const USERS = 10_000
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 2000)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)

/**
 * A read-heavy load (9 reads by id, 1 filtered list per 10 calls) on a primary with one
 * streaming replica (`pg_basebackup -R`, both on this machine), against the same load with
 * every read on the primary; then where the reads went. And reads by id through PgBouncer
 * (transaction mode, `preparedStatements: false`) against the same data layer connected
 * directly.
 */
export async function benchReplicas(): Promise<void> {
  console.log(
    `\n## Read replicas and a transaction pooler (${USERS.toLocaleString('en-US')} users; ${ROUNDS} alternating rounds of ${DURATION_MS} ms; medians)`,
  )
  const primary = await startLocalPostgres()
  const replica = await startLocalReplica(primary.url)
  const pooler = await startLocalPgBouncer(primary.url)
  const options = { databaseUrl: primary.url, database: { pool: { max: 16 } } }
  const primaryOnly = await createDataLayer(options)
  const withReplica = await createDataLayer({ ...options, replicas: [replica.url] })
  const pooled = await createDataLayer({
    ...options,
    databaseUrl: pooler.url,
    directUrl: primary.url,
    database: { pool: { max: 16 }, preparedStatements: false },
  })
  try {
    await primaryOnly.migrate()
    const rows = await primaryOnly.users.createMany(
      Array.from({ length: USERS }, (_, i) => ({ email: `replica.${i}@example.com` })),
    )
    const ids = rows.map((r) => r.id)
    // Wait until the replica has the rows.
    const probe = new pg.Client({ connectionString: replica.url })
    await probe.connect()
    while (Number((await probe.query('select count(*)::int as n from users')).rows[0].n) < USERS)
      await new Promise((r) => setTimeout(r, 100))
    await probe.end()

    const load = (data: typeof primaryOnly) => (i: number) =>
      i % 10 === 9
        ? data.users.findMany({ where: { email: { like: `replica.${i % 100}%` } }, limit: 20 })
        : data.users.findById(ids[(i * 7919) % USERS]!)
    await Promise.all(
      Array.from({ length: 64 }, (_, i) =>
        Promise.all([load(primaryOnly)(i), load(withReplica)(i)]),
      ),
    )
    const before = withReplica.metrics().database.replicas!
    const table = await compareAtConcurrencies(load(primaryOnly), load(withReplica), {
      levels: [1, 16],
      durationMs: DURATION_MS,
      rounds: ROUNDS,
    })
    const after = withReplica.metrics().database.replicas!
    printTable(['concurrency', 'primary only', 'primary + 1 replica', 'ratio'], table)
    const onReplica = after.replicas[0]!.reads - before.replicas[0]!.reads
    const onPrimary = after.primaryReads - before.primaryReads
    console.log(
      `reads of the replica layer: ${onReplica.toLocaleString('en-US')} on the replica, ${onPrimary.toLocaleString('en-US')} on the primary (${((100 * onReplica) / Math.max(1, onReplica + onPrimary)).toFixed(1)}% on the replica)`,
    )
    console.log(
      'note: both servers share this 2-core machine, so the replica moves load, it cannot add capacity here',
    )

    const direct = (i: number) => primaryOnly.users.findById(ids[i % USERS]!)
    const throughPooler = (i: number) => pooled.users.findById(ids[i % USERS]!)
    await Promise.all(
      Array.from({ length: 64 }, (_, i) => Promise.all([direct(i), throughPooler(i)])),
    )
    const poolerTable = await compareAtConcurrencies(direct, throughPooler, {
      levels: [1, 16],
      durationMs: DURATION_MS,
      rounds: ROUNDS,
    })
    printTable(
      ['concurrency', 'findById direct (named)', 'through PgBouncer (unnamed)', 'ratio'],
      poolerTable,
    )
  } finally {
    await Promise.all([primaryOnly.close(), withReplica.close(), pooled.close()])
    await pooler.stop()
    await replica.stop()
    await primary.stop()
  }
}
