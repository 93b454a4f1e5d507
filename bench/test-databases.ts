import { createDataLayer } from '../src/index.js'
import { createTestDataLayer } from '../src/testing/create-test-data-layer.js'
import {
  cloneDatabase,
  createEmptyDatabase,
  dropDatabase,
  ensureTemplateDatabase,
} from '../src/testing/template-databases.js'
import { median, printTable } from './measure.js'

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5) * 2

/**
 * A migrated database for a test: a bare template clone, and `createTestDataLayer()` (a clone of the migrated
 * template, plus its data layer, cache prefix and blob directory, then `destroy()`)
 * against the baseline of creating an empty database and running the migrations from
 * scratch through `data.migrate()` (then dropping it), alternating, in the same run.
 * The in-memory PGlite path is shown for reference.
 */
export async function benchTestDatabases(adminUrl: string): Promise<void> {
  console.log(`\n## A migrated database per test (${ROUNDS} alternating rounds; medians)`)
  const env = { TEST_DATABASE_URL: adminUrl }
  const template = await ensureTemplateDatabase(adminUrl)
  const cloneOnly: number[] = []
  const layer: number[] = []
  const migrate: number[] = []
  const embedded: number[] = []
  for (let round = 0; round < ROUNDS; round++) {
    let started = performance.now()
    const copy = await cloneDatabase(adminUrl, template)
    await dropDatabase(adminUrl, copy.name)
    cloneOnly.push(performance.now() - started)

    started = performance.now()
    const t = await createTestDataLayer({ env })
    await t.destroy()
    layer.push(performance.now() - started)

    started = performance.now()
    const { url, name } = await createEmptyDatabase(adminUrl)
    const data = await createDataLayer({ databaseUrl: url })
    await data.migrate()
    await data.close()
    await dropDatabase(adminUrl, name)
    migrate.push(performance.now() - started)

    if (round < 3) {
      started = performance.now()
      const p = await createTestDataLayer({ env: {} })
      await p.destroy()
      embedded.push(performance.now() - started)
    }
  }
  const ms = (v: number) => `${v.toFixed(0)} ms`
  const baseline = median(migrate)
  const ratio = (values: number[]) => (median(values) / baseline).toFixed(2)
  printTable(
    ['path', 'median', 'time / baseline'],
    [
      [
        'server: CREATE DATABASE + connect + data.migrate() + DROP (baseline)',
        ms(baseline),
        '1.00',
      ],
      [
        'server: CREATE DATABASE ... TEMPLATE (clone) + DROP',
        ms(median(cloneOnly)),
        ratio(cloneOnly),
      ],
      [
        'server: createTestDataLayer() + destroy() (clone, layer, prefixes, cleanup)',
        ms(median(layer)),
        ratio(layer),
      ],
      [
        'embedded: createTestDataLayer() + destroy() (PGlite from the migrated dump)',
        ms(median(embedded)),
        ratio(embedded),
      ],
    ],
  )
}
