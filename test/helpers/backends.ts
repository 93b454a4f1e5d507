import { afterAll, inject } from 'vitest'
import type { DataLayer, DataLayerOptions } from '../../src/index.js'
import {
  createTestDataLayer,
  type TestDataLayer,
  type TestDataLayerOptions,
} from '../../src/testing/create-test-data-layer.js'

/** Options a test may pass: everything but where the database is. */
export type TestLayerOptions = Omit<DataLayerOptions, 'databaseUrl' | 'database'> & {
  database?: Pick<NonNullable<DataLayerOptions['database']>, 'pool' | 'slowQueryMs'>
}

/** A database backend every contract test runs on. */
export interface Backend {
  /** `pglite`, `postgres`, or `pgbouncer` (the same server through PgBouncer), shown in test names. */
  readonly name: 'pglite' | 'postgres' | 'pgbouncer'
  /** A Postgres server (with other sessions), not the in-process PGlite. */
  readonly server: boolean
  /** Hash partitions of `chat_vectors` the migration creates (`embeddings.partitions`), if any. */
  readonly partitions?: number
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

// Every data layer of these tests comes from the public test helpers (stratum-data/testing),
// so they are exercised on every run. The cache and blobs stay in-process unless a test
// configures Redis or S3 itself; the database is PGlite or a template clone on the server.
const opened = new WeakMap<DataLayer, TestDataLayer>()
const destroys: (() => Promise<void>)[] = []
afterAll(async () => {
  await Promise.allSettled(destroys.splice(0).map((destroy) => destroy()))
})

async function openTest(
  database: 'embedded' | 'server' | 'pooler',
  options: TestLayerOptions,
  migrate: boolean,
): Promise<DataLayer> {
  const t = await createTestDataLayer({
    ...(options as TestDataLayerOptions),
    use: {
      database: database === 'embedded' ? 'embedded' : 'server',
      cache: 'embedded',
      blobs: 'embedded',
    },
    ...(database === 'pooler' ? { poolerUrl: inject('pgbouncerUrl') } : {}),
    migrate,
  })
  destroys.push(() => t.destroy())
  opened.set(t.data, t)
  return t.data
}

const pglite: Backend = {
  name: 'pglite',
  server: false,
  open: (options = {}) => openTest('embedded', options, true),
  openEmpty: (options = {}) => openTest('embedded', options, false),
  async reopen(data) {
    return data
  },
}

async function reopenServer(data: DataLayer): Promise<DataLayer> {
  const t = opened.get(data)
  if (!t) throw new Error('reopen: not a data layer opened by this backend')
  return t.reopen()
}

const postgres: Backend = {
  name: 'postgres',
  server: true,
  open: (options = {}) => openTest('server', options, true),
  openEmpty: (options = {}) => openTest('server', options, false),
  reopen: reopenServer,
}

/**
 * The same server through PgBouncer in transaction pooling mode, configured as an
 * application behind a pooler is: `preparedStatements: false` and a `directUrl`.
 */
export const pgbouncer: Backend = {
  name: 'pgbouncer',
  server: true,
  open: (options = {}) => openTest('pooler', options, true),
  openEmpty: (options = {}) => openTest('pooler', options, false),
  reopen: reopenServer,
}

/** Both backends: contract tests run once on each. */
export const backends: readonly Backend[] = [pglite, postgres]

/** Both backends and the server through PgBouncer: the repository suites run on all three. */
export const backendsWithPooler: readonly Backend[] = [pglite, postgres, pgbouncer]

/** A backend whose migration creates `chat_vectors` in `partitions` hash partitions. */
function partitioned(backend: Backend, partitions: number): Backend {
  const withPartitions = (options: TestLayerOptions = {}): TestLayerOptions => ({
    ...options,
    embeddings: { ...options.embeddings, partitions },
  })
  return {
    ...backend,
    partitions,
    open: (options) => backend.open(withPartitions(options)),
    openEmpty: (options) => backend.openEmpty(withPartitions(options)),
  }
}

/** Both backends with `chat_vectors` in 4 hash partitions by user_id. */
export const partitionedBackends: readonly Backend[] = [
  partitioned(pglite, 4),
  partitioned(postgres, 4),
]

/**
 * The vector suites run on both backends, and on the server with partitions (the layout
 * for large tables; the repository suite covers partitioned PGlite as well).
 */
export const vectorBackends: readonly Backend[] = [...backends, partitionedBackends[1]!]

/** Title suffix naming the real server, so the output says what ran. */
export function backendTitle(backend: Backend): string {
  const layout = backend.partitions ? `, chat_vectors in ${backend.partitions} hash partitions` : ''
  return baseTitle(backend) + layout
}

function baseTitle(backend: Backend): string {
  if (backend.name === 'postgres') return `postgres (${inject('postgresDescription')})`
  if (backend.name === 'pgbouncer')
    return `postgres through ${inject('pgbouncerDescription')}, preparedStatements: false`
  return 'pglite (embedded)'
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
  const url = opened.get(data)?.databaseUrl
  if (!url) throw new Error('databaseUrlOf: not a data layer opened by the postgres backend')
  return url
}
