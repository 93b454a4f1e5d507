import { createDataLayer } from '../src/index.js'
import { createTestDataLayer } from '../src/testing/create-test-data-layer.js'
import {
  createEmptyDatabase,
  dropDatabase,
  ensureTemplateDatabase,
} from '../src/testing/template-databases.js'
import { median, printTable } from './measure.js'

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5) * 2

/**
 * A migrated database for a test: `createTestDataLayer()` (a clone of the migrated
 * template, plus its data layer, cache prefix and blob directory, then `destroy()`)
 * against the baseline of creating an empty database and running the migrations from
 * scratch through `data.migrate()` (then dropping it), alternating, in the same run.
 * The in-memory PGlite path is shown for reference.
 */
export async function benchTestDatabases(adminUrl: string): Promise<void> {
  console.log(`\n## A migrated database per test (${ROUNDS} alternating rounds; medians)`)
  const env = { TEST_DATABASE_URL: adminUrl }
  await ensureTemplateDatabase(adminUrl)
  const clone: number[] = []
  const migrate: number[] = []
  const embedded: number[] = []
  for (let round = 0; round < ROUNDS; round++) {
    let started = performance.now()
    const t = await createTestDataLayer({ env })
    await t.destroy()
    clone.push(performance.now() - started)

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
  printTable(
    ['path', 'create + destroy', 'vs migrating from scratch'],
    [
      ['server: empty database + data.migrate() (baseline)', ms(baseline), '1.00'],
      [
        'server: createTestDataLayer() (template clone)',
        ms(median(clone)),
        `${(baseline / median(clone)).toFixed(2)}x faster`,
      ],
      [
        'embedded: createTestDataLayer() (PGlite, migrated)',
        ms(median(embedded)),
        `${(baseline / median(embedded)).toFixed(2)}x faster`,
      ],
    ],
  )
}
