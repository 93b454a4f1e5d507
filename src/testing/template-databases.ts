import { createHash, randomBytes } from 'node:crypto'
import type pg from 'pg'
import { type DataLayerOptions, resolveOptions } from '../config/options.js'
import { createDataLayer } from '../data-layer/create-data-layer.js'
import { migrationSetsOf } from '../data-layer/migration-sets.js'
import type { MigrationSet } from '../db/migrator.js'
import { onMaintenanceDatabase as admin, withDatabase } from '../db/server-admin.js'

/** The options that decide what a migrated database contains. */
export type TemplateOptions = Pick<DataLayerOptions, 'embeddings' | 'migrations' | 'extensions'>

/** Only the options that shape the schema (a caller may pass a whole configuration). @internal */
export function templateOptionsOf(options: TemplateOptions): TemplateOptions {
  const { embeddings, migrations, extensions } = options
  return {
    ...(embeddings ? { embeddings } : {}),
    ...(migrations ? { migrations } : {}),
    ...(extensions ? { extensions } : {}),
  }
}

/**
 * A short hash of everything the migrations would do: each set's name, migrations table,
 * parameters (the embedding dimension, the text search language) and migration hashes.
 * A changed or added migration gives a new template; an unchanged one is reused.
 * @internal
 */
export function migrationSetsHash(sets: readonly MigrationSet[]): string {
  const described = sets.map((set) => [
    set.name,
    set.table ?? null,
    Object.entries(set.parameters ?? {}).sort(),
    set.rewrites ?? [],
    set.migrations.map((m) => [m.tag, m.hash]),
  ])
  return createHash('sha256').update(JSON.stringify(described)).digest('hex').slice(0, 16)
}

/** The template database's name for these migration sets. @internal */
export function templateNameOf(sets: readonly MigrationSet[]): string {
  return `stratum_tpl_${migrationSetsHash(sets)}`
}

/** The template database's name for these options. @internal */
export function templateNameFor(options: TemplateOptions = {}): string {
  return templateNameOf(migrationSetsOf(resolveOptions(options)))
}

/** An advisory lock key (a signed 64-bit integer) derived from a name. */
function lockKeyOf(name: string): string {
  return createHash('sha256').update(name).digest().readBigInt64BE(0).toString()
}

/**
 * Builds template `name` for `options` on the maintenance connection `client` unless it is
 * there already: under a session advisory lock (released by the server if this process
 * dies), re-checked once the lock is held; a half-made one (no template mark) is dropped
 * and made again.
 */
async function ensureTemplateOn(
  client: pg.Client,
  adminUrl: string,
  options: TemplateOptions,
  name: string,
): Promise<void> {
  const ready = async () => {
    const { rows } = await client.query<{ datistemplate: boolean }>(
      'SELECT datistemplate FROM pg_database WHERE datname = $1',
      [name],
    )
    return rows[0]
  }
  if ((await ready())?.datistemplate) return
  const lock = lockKeyOf(name)
  await client.query('SELECT pg_advisory_lock($1::bigint)', [lock])
  try {
    const found = await ready()
    if (found?.datistemplate) return
    if (found) await client.query(`DROP DATABASE ${name} WITH (FORCE)`)
    await client.query(`CREATE DATABASE ${name}`)
    try {
      const data = await createDataLayer({
        ...templateOptionsOf(options),
        databaseUrl: withDatabase(adminUrl, name),
      })
      try {
        await data.migrate()
      } finally {
        await data.close()
      }
      await client.query(`ALTER DATABASE ${name} WITH is_template true allow_connections false`)
    } catch (error) {
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {})
      throw error
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1::bigint)', [lock]).catch(() => {})
  }
}

/**
 * Makes sure the migrated template database for `options` exists on the server of
 * `adminUrl` and returns its name (`stratum_tpl_<hash of the migrations>`). Created once:
 * concurrent callers in other workers or processes wait on an advisory lock and then find
 * it; one left half-made by a crash is made again. Templates take no connections, so
 * clones never wait.
 */
export async function ensureTemplateDatabase(
  adminUrl: string,
  options: TemplateOptions = {},
): Promise<string> {
  const name = templateNameFor(options)
  await admin(adminUrl, (client) => ensureTemplateOn(client, adminUrl, options, name))
  return name
}

/**
 * A new database cloned from the template for `options` (made first if needed), on one
 * maintenance connection, with its URL. `sets` are the options' migration sets when the
 * caller has them already.
 * @internal
 */
export async function cloneTemplateDatabase(
  adminUrl: string,
  options: TemplateOptions,
  sets: readonly MigrationSet[] = migrationSetsOf(resolveOptions(options)),
): Promise<{ url: string; name: string }> {
  const template = templateNameOf(sets)
  const name = testDatabaseName()
  await admin(adminUrl, async (client) => {
    await ensureTemplateOn(client, adminUrl, options, template)
    await client.query(`CREATE DATABASE ${name} TEMPLATE ${template} STRATEGY FILE_COPY`)
  })
  return { url: withDatabase(adminUrl, name), name }
}

/**
 * Drops the template databases made by {@link ensureTemplateDatabase} on a server that
 * outlives the tests (one given by `TEST_DATABASE_URL`), for example after migrations
 * changed; returns their names.
 */
export async function dropTemplateDatabases(adminUrl: string): Promise<string[]> {
  return admin(adminUrl, async (client) => {
    const { rows } = await client.query<{ datname: string }>(
      "SELECT datname FROM pg_database WHERE datname LIKE 'stratum\\_tpl\\_%'",
    )
    for (const { datname } of rows) {
      await client.query(`ALTER DATABASE ${datname} WITH is_template false`)
      await client.query(`DROP DATABASE ${datname} WITH (FORCE)`)
    }
    return rows.map((r) => r.datname)
  })
}

/** A fresh test database name. */
function testDatabaseName(): string {
  return `stratum_test_${randomBytes(6).toString('hex')}`
}

/**
 * A new database cloned from a template (a file copy, about 20 ms), with its URL.
 * @internal
 */
export async function cloneDatabase(
  adminUrl: string,
  template: string,
): Promise<{ url: string; name: string }> {
  const name = testDatabaseName()
  await admin(adminUrl, (client) =>
    client.query(`CREATE DATABASE ${name} TEMPLATE ${template} STRATEGY FILE_COPY`),
  )
  return { url: withDatabase(adminUrl, name), name }
}

/**
 * A new, empty database (no migrations applied), with its URL.
 * @internal
 */
export async function createEmptyDatabase(
  adminUrl: string,
): Promise<{ url: string; name: string }> {
  const name = testDatabaseName()
  await admin(adminUrl, (client) => client.query(`CREATE DATABASE ${name}`))
  return { url: withDatabase(adminUrl, name), name }
}

/** Drops a test database, disconnecting whoever is still on it. @internal */
export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  await admin(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))
}
