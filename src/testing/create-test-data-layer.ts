import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'drizzle-orm'
import { type DataLayerOptions, resolveOptions } from '../config/options.js'
import { createDataLayer } from '../data-layer/create-data-layer.js'
import { migrationSetsOf } from '../data-layer/migration-sets.js'
import type { DataLayer } from '../data-layer/types.js'
import { migrationTables } from '../db/migrator.js'
import { quoteIdentifier } from '../db/server-admin.js'
import type { DataLayerExtension, ExtensionApis } from '../extensions/extension.js'
import { createFixtures, type Fixtures } from './fixtures.js'
import { pgliteTemplate } from './pglite-templates.js'
import { testS3FromEnv } from './start-test-services.js'
import { cloneTemplateDatabase, createEmptyDatabase, dropDatabase } from './template-databases.js'

/** Where one part of a test data layer runs. */
export type TestBackendChoice = 'auto' | 'server' | 'embedded'

/** Options of {@link createTestDataLayer}: the data layer's, less where the database is. */
export type TestDataLayerOptions = Omit<
  DataLayerOptions,
  'databaseUrl' | 'adminUrl' | 'directUrl'
> & {
  /**
   * Which parts use the test services: `auto` (the default) uses a service when its URL
   * is in the environment (`TEST_DATABASE_URL`, `TEST_REDIS_URL`, `TEST_S3_ENDPOINT`, as
   * {@link exportTestServices} and the global setup write them) and the embedded default
   * otherwise; `server` requires it; `embedded` never uses it. A cache or blob store
   * configured in the options themselves (`redisUrl`, `s3`, `blobs.driver`, `blobs.dir`)
   * is used as given.
   */
  use?: { database?: TestBackendChoice; cache?: TestBackendChoice; blobs?: TestBackendChoice }
  /** `false`: an empty database, no migrations applied (default true: migrated). */
  migrate?: boolean
  /** Seed of the fixtures (default 1). */
  seed?: number
  /** Where the service URLs are read (default `process.env`). */
  env?: Record<string, string | undefined>
  /**
   * The URL of a transaction-mode pooler (PgBouncer, Supavisor) in front of the test
   * server: the data layer then connects through it to its own database, with
   * `database.preparedStatements: false` and the database's direct URL as `directUrl`,
   * as an application behind a pooler is configured. Server databases only.
   */
  poolerUrl?: string
}

/** A data layer of one's own for a test file, with its fixtures and clean-up. */
export interface TestDataLayer<Ext extends object = Readonly<Record<never, never>>> {
  readonly data: DataLayer<Ext>
  /** Factories of valid rows, deterministic under the seed. */
  readonly fixtures: Fixtures
  /** The database's URL on a server (undefined on PGlite). */
  readonly databaseUrl: string | undefined
  /** The cache key prefix of this data layer alone. */
  readonly cachePrefix: string
  /** The blob key prefix of this data layer alone. */
  readonly blobPrefix: string
  /** What each part runs on, for test output. */
  readonly description: string
  /**
   * Empties every table but the migrations tables (one TRUNCATE ... RESTART IDENTITY),
   * deletes this layer's cache keys and blobs, and restarts the fixture sequence. Indexes
   * and migrations stay.
   */
  reset(): Promise<void>
  /**
   * Another data layer on the same database, cache prefix and blobs, with its own pool and
   * cache client, as a second process would have (server databases only); closed by
   * `destroy()`.
   */
  reopen(): Promise<DataLayer<Ext>>
  /** Deletes what this layer created (database, cache keys, blobs, temp directory) and closes it. */
  destroy(): Promise<void>
}

function choose(
  choice: TestBackendChoice | undefined,
  available: boolean,
  what: string,
  variable: string,
): boolean {
  if (choice === 'embedded') return false
  if (choice === 'server' && !available)
    throw new Error(
      `createTestDataLayer: use.${what} is 'server' but ${variable} is not set ` +
        '(start the services with startTestServices() or the global setup first)',
    )
  return available
}

/** `databaseUrl`'s database (and role) reached through the pooler at `poolerUrl`. */
function sameDatabaseVia(poolerUrl: string, databaseUrl: string): string {
  const pooled = new URL(poolerUrl)
  const direct = new URL(databaseUrl)
  pooled.pathname = direct.pathname
  return pooled.toString()
}

/**
 * A data layer on a database of its own, for one test file or test: on a server, a clone
 * of a migrated template (made once per set of migrations, shared by every worker; a clone
 * takes tens of milliseconds), else in-memory PGlite, migrated; its own cache key prefix
 * (Redis when `TEST_REDIS_URL` is set, else in-process) and its own blob prefix (S3 when
 * `TEST_S3_ENDPOINT` is set, else a temp directory). `destroy()` removes exactly those.
 *
 * @example
 * ```ts
 * import { afterAll, beforeAll, expect, it } from 'vitest'
 * import { createTestDataLayer, type TestDataLayer } from 'stratum-data/testing'
 *
 * let t: TestDataLayer
 * beforeAll(async () => { t = await createTestDataLayer() })
 * afterAll(() => t.destroy())
 *
 * it('finds a user by email', async () => {
 *   const user = await t.fixtures.user()
 *   expect(await t.data.users.findByEmail(user.email)).toEqual(user)
 * })
 * ```
 */
export async function createTestDataLayer<const E extends readonly DataLayerExtension[] = []>(
  options: TestDataLayerOptions & { extensions?: E } = {},
): Promise<TestDataLayer<ExtensionApis<E>>> {
  const { use = {}, migrate = true, seed, env = process.env, poolerUrl, ...layerOptions } = options
  const id = randomBytes(6).toString('hex')
  const adminUrl = env.TEST_DATABASE_URL
  const onServer = choose(use.database, !!adminUrl, 'database', 'TEST_DATABASE_URL')
  const ownCache = !!(
    layerOptions.redisUrl ||
    layerOptions.cache?.redis?.client ||
    layerOptions.cache?.redis?.clusterNodes ||
    layerOptions.cache?.redis?.sentinel
  )
  const redisUrl = !ownCache && choose(use.cache, !!env.TEST_REDIS_URL, 'cache', 'TEST_REDIS_URL')
  const ownBlobs = !!(layerOptions.s3 || layerOptions.blobs?.driver || layerOptions.blobs?.dir)
  const s3 = ownBlobs
    ? undefined
    : choose(use.blobs, !!env.TEST_S3_ENDPOINT, 'blobs', 'TEST_S3_ENDPOINT')
      ? testS3FromEnv(env)
      : undefined
  // A prefix the caller chose is used as is: isolating it is then the caller's choice.
  const cachePrefix = layerOptions.cache?.prefix ?? `stratum:test-${id}:`
  const blobPrefix = layerOptions.blobs?.prefix ?? `test-${id}/`
  const sets = migrationSetsOf(resolveOptions(layerOptions))
  if (poolerUrl && !onServer)
    throw new Error('createTestDataLayer: poolerUrl needs a server database (TEST_DATABASE_URL)')

  const undo: (() => Promise<unknown>)[] = []
  const runUndo = async () => {
    for (const step of undo.splice(0).reverse()) await step().catch(() => {})
  }
  try {
    let databaseUrl: string | undefined
    if (onServer) {
      const database = migrate
        ? await cloneTemplateDatabase(adminUrl!, layerOptions, sets)
        : await createEmptyDatabase(adminUrl!)
      databaseUrl = database.url
      undo.push(() => dropDatabase(adminUrl!, database.name))
    }
    let blobDir: string | undefined
    if (!ownBlobs && !s3) {
      blobDir = await mkdtemp(join(tmpdir(), 'stratum-test-blobs-'))
      const dir = blobDir
      undo.push(() => rm(dir, { recursive: true, force: true }))
    }
    // On PGlite, a migrated template too: a dump of one, loaded into a new in-memory instance.
    const template =
      !onServer && migrate && !layerOptions.database?.dir && !layerOptions.database?.client
        ? await pgliteTemplate(layerOptions, sets)
        : undefined
    const finalOptions: DataLayerOptions = {
      ...layerOptions,
      ...(template ? { database: { ...layerOptions.database, loadDataDir: template } } : {}),
      ...(databaseUrl && !poolerUrl ? { databaseUrl } : {}),
      ...(databaseUrl && poolerUrl
        ? {
            databaseUrl: sameDatabaseVia(poolerUrl, databaseUrl),
            directUrl: databaseUrl,
            database: { ...layerOptions.database, preparedStatements: false },
          }
        : {}),
      ...(redisUrl ? { redisUrl: env.TEST_REDIS_URL } : {}),
      ...(s3
        ? {
            s3: {
              bucket: s3.bucket,
              region: s3.region,
              endpoint: s3.endpoint,
              forcePathStyle: s3.forcePathStyle,
              checksums: s3.checksums,
              credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
            },
          }
        : {}),
      cache: { ...layerOptions.cache, prefix: cachePrefix },
      blobs: {
        ...layerOptions.blobs,
        prefix: blobPrefix,
        ...(blobDir ? { dir: blobDir, fsync: false } : {}),
      },
    }
    const open = async () => {
      const opened = (await createDataLayer(finalOptions)) as unknown as DataLayer<ExtensionApis<E>>
      undo.push(() => opened.close())
      return opened
    }
    const data = await open()
    const clearShared = async () => {
      await data.cache.clear()
      const keys: string[] = []
      for await (const item of data.blobs.listAll()) keys.push(item.key)
      for (let i = 0; i < keys.length; i += 1000)
        await data.blobs.deleteMany(keys.slice(i, i + 1000))
    }
    undo.push(() => clearShared())
    if (!onServer && migrate && !template) await data.migrate()
    const fixtures = createFixtures(data, seed === undefined ? {} : { seed })
    const keep = new Set(migrationTables(sets))
    const parts = [
      onServer
        ? `postgres (template clone${poolerUrl ? ', through a transaction pooler' : ''})`
        : 'pglite (embedded)',
      redisUrl ? 'redis' : ownCache ? 'redis (given)' : 'memory cache',
      s3 ? `s3 (${s3.endpoint})` : ownBlobs ? 'blobs (given)' : 'fs blobs (temp dir)',
    ]
    let destroyed = false
    return {
      data,
      fixtures,
      databaseUrl,
      cachePrefix,
      blobPrefix,
      description: parts.join(', '),
      async reset() {
        const rows = await data.db.execute<{ tablename: string }>(
          sql`SELECT tablename FROM pg_tables WHERE schemaname = current_schema()`,
        )
        const tables = rows.rows.map((r) => r.tablename).filter((name) => !keep.has(name))
        if (tables.length > 0)
          await data.db.execute(
            sql.raw(
              `TRUNCATE TABLE ${tables.map(quoteIdentifier).join(', ')} RESTART IDENTITY CASCADE`,
            ),
          )
        await clearShared()
        fixtures.restart()
      },
      async reopen() {
        if (!onServer)
          throw new Error(
            'reopen: an in-memory PGlite database has one instance; use a server database (TEST_DATABASE_URL)',
          )
        return open()
      },
      async destroy() {
        if (destroyed) return
        destroyed = true
        await runUndo()
      },
    }
  } catch (error) {
    await runUndo()
    throw error
  }
}
