import { afterAll, inject } from 'vitest'
import { createDataLayer, type DataLayer, type DataLayerOptions } from '../../src/index.js'
import {
  cloneDatabase,
  createEmptyDatabase,
  dropDatabase,
  templateName,
} from '../../src/testing/template-databases.js'

/** Options a test may pass: everything but where the database is. */
export type TestLayerOptions = Omit<DataLayerOptions, 'databaseUrl' | 'database'> & {
  database?: Pick<NonNullable<DataLayerOptions['database']>, 'pool' | 'slowQueryMs'>
}

/** A database backend every contract test runs on. */
export interface Backend {
  /** `pglite` or `postgres`, shown in test names. */
  readonly name: 'pglite' | 'postgres'
  /** A migrated data layer on a database of its own; closed after the file. */
  open(options?: TestLayerOptions): Promise<DataLayer>
  /** A data layer on a new, empty database (no migrations); closed after the file. */
  openEmpty(options?: TestLayerOptions): Promise<DataLayer>
  /**
   * Another data layer on the same database, as a second process would have (its own
   * pool). PGlite has one in-process instance per database, so it returns `data` itself.
   */
  reopen(data: DataLayer): Promise<DataLayer>
}

const urls = new WeakMap<DataLayer, { url: string; options: DataLayerOptions }>()

const cleanups: (() => Promise<void>)[] = []
afterAll(async () => {
  await Promise.allSettled(cleanups.splice(0).map((c) => c()))
})

function track(data: DataLayer, extra?: () => Promise<void>): DataLayer {
  cleanups.push(async () => {
    await data.close()
    await extra?.()
  })
  return data
}

const pglite: Backend = {
  name: 'pglite',
  async open(options = {}) {
    const data = track(await createDataLayer(options))
    await data.migrate()
    return data
  },
  async openEmpty(options = {}) {
    return track(await createDataLayer(options))
  },
  async reopen(data) {
    return data
  },
}

const postgres: Backend = {
  name: 'postgres',
  async open(options = {}) {
    const adminUrl = inject('postgresUrl')
    const dimensions = options.embeddings?.dimensions ?? 1536
    const { url, name } = await cloneDatabase(adminUrl, templateName(dimensions))
    const data = track(await createDataLayer({ ...options, databaseUrl: url }), () =>
      dropDatabase(adminUrl, name),
    )
    urls.set(data, { url, options })
    return data
  },
  async openEmpty(options = {}) {
    const adminUrl = inject('postgresUrl')
    const { url, name } = await createEmptyDatabase(adminUrl)
    const data = track(await createDataLayer({ ...options, databaseUrl: url }), () =>
      dropDatabase(adminUrl, name),
    )
    urls.set(data, { url, options })
    return data
  },
  async reopen(data) {
    const known = urls.get(data)
    if (!known) throw new Error('reopen: not a data layer opened by this backend')
    // Closed before the first one, whose cleanup drops the database.
    const other = await createDataLayer({ ...known.options, databaseUrl: known.url })
    cleanups.unshift(() => other.close())
    return other
  },
}

/** Both backends: contract tests run once on each. */
export const backends: readonly Backend[] = [pglite, postgres]

/** Title suffix naming the real server, so the output says what ran. */
export function backendTitle(backend: Backend): string {
  return backend.name === 'postgres'
    ? `postgres (${inject('postgresDescription')})`
    : 'pglite (embedded)'
}

let counter = 0
/** A unique email for a test, so tests in one file never collide. */
export function uniqueEmail(prefix = 'user'): string {
  counter += 1
  return `${prefix}.${process.pid}.${Date.now()}.${counter}@example.com`
}

/** A deterministic unit-ish embedding of `dimensions` numbers from a seed. */
export function embeddingFrom(seed: number, dimensions: number): number[] {
  let state = seed * 2654435761 + 1
  const out: number[] = []
  for (let i = 0; i < dimensions; i++) {
    state = (state * 1103515245 + 12345) % 2147483648
    out.push(state / 2147483648 - 0.5)
  }
  return out
}

/** The URL of a server database opened by the postgres backend. */
export function databaseUrlOf(data: DataLayer): string {
  const known = urls.get(data)
  if (!known) throw new Error('databaseUrlOf: not a data layer opened by the postgres backend')
  return known.url
}
