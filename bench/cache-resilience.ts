import { createDataLayer, type DataLayer } from '../src/index.js'
import { freePort } from '../src/testing/free-port.js'
import { median, printTable } from './measure.js'

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now()
  await fn()
  return performance.now() - started
}

/**
 * Single flight: 1,000 concurrent `findById` calls on one cold key, and how many
 * database loads they caused (in one process). Redis unreachable: the first call and
 * the steady-state cost of a call against the same read with no cache at all.
 */
export async function benchCacheResilience(
  uncached: DataLayer,
  databaseUrl: string,
  redisUrl: string,
): Promise<void> {
  console.log('\n## Cache under load and without Redis (one process)')
  const cached = await createDataLayer({
    databaseUrl,
    redisUrl,
    cache: { prefix: `bench-cold-${Date.now()}:` },
  })
  const port = await freePort()
  const down = await createDataLayer({ databaseUrl, redisUrl: `redis://127.0.0.1:${port}` })
  try {
    const user = await cached.users.create({ email: `cold.${Date.now()}@example.com` })
    const before = cached.cache.stats()
    await Promise.all(Array.from({ length: 1000 }, () => cached.users.findById(user.id)))
    const after = cached.cache.stats()
    const loads = after.loads - before.loads

    const plain: number[] = []
    for (let i = 0; i < 200; i++) plain.push(await timed(() => uncached.users.findById(user.id)))
    const first = await timed(() => down.users.findById(user.id))
    const steady: number[] = []
    for (let i = 0; i < 200; i++) steady.push(await timed(() => down.users.findById(user.id)))
    const stats = down.cache.stats()
    printTable(
      ['measure', 'value'],
      [
        ['1,000 concurrent cold findById: database loads', String(loads)],
        ['  of which cache misses', String(after.misses - before.misses)],
        ['uncached findById, median', `${median(plain).toFixed(3)} ms`],
        ['Redis on a closed port: first findById', `${first.toFixed(3)} ms`],
        ['Redis on a closed port: findById after, median', `${median(steady).toFixed(3)} ms`],
        [
          '  added per call (median vs uncached)',
          `${(median(steady) - median(plain)).toFixed(3)} ms`,
        ],
        [
          '  circuit open / errors / bypasses',
          `${stats.circuitOpen} / ${stats.errors} / ${stats.bypasses}`,
        ],
      ],
    )
    console.log(
      'goals: 1 load; first call within 50 ms plus the database time; under 1 ms added once the circuit is open',
    )
  } finally {
    await cached.cache.clear()
    await Promise.all([cached.close(), down.close()])
  }
}
