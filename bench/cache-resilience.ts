import { createDataLayer, type DataLayer } from '../src/index.js'
import { freePort } from '../src/testing/free-port.js'
import { median, printTable } from './measure.js'

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now()
  await fn()
  return performance.now() - started
}

/**
 * Redis unreachable: the first call and the steady-state cost of a call against the same
 * read with no cache at all.
 */
export async function benchCacheResilience(
  uncached: DataLayer,
  databaseUrl: string,
): Promise<void> {
  console.log('\n## Cache without Redis (closed port)')
  const port = await freePort()
  const down = await createDataLayer({ databaseUrl, redisUrl: `redis://127.0.0.1:${port}` })
  try {
    const user = await uncached.users.create({ email: `down.${Date.now()}@example.com` })

    const plain: number[] = []
    for (let i = 0; i < 200; i++) plain.push(await timed(() => uncached.users.findById(user.id)))
    const first = await timed(() => down.users.findById(user.id))
    const steady: number[] = []
    for (let i = 0; i < 200; i++) steady.push(await timed(() => down.users.findById(user.id)))
    const stats = down.cache.stats()
    printTable(
      ['measure', 'value'],
      [
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
      'goals: first call within 50 ms plus the database time; under 1 ms added once the circuit is open',
    )
  } finally {
    await down.close()
  }
}
