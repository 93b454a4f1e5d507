import { randomBytes } from 'node:crypto'
import { createDataLayer } from '../data-layer.js'
import { withClient as admin, withDatabase } from '../db/server-admin.js'

/** Name of the migrated template database for a dimension. @internal */
export function templateName(dimensions: number): string {
  return `stratum_template_${dimensions}`
}

/**
 * Creates (or re-creates) a template database migrated with the core migrations for the
 * given embedding dimension, closed to connections so that clones are always allowed.
 * @internal
 */
export async function createTemplateDatabase(adminUrl: string, dimensions: number): Promise<void> {
  const name = templateName(dimensions)
  await admin(adminUrl, async (client) => {
    await client.query(`ALTER DATABASE ${name} WITH is_template false`).catch(() => {})
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    await client.query(`CREATE DATABASE ${name}`)
  })
  const data = await createDataLayer({
    databaseUrl: withDatabase(adminUrl, name),
    embeddings: { dimensions },
  })
  try {
    await data.migrate()
  } finally {
    await data.close()
  }
  await admin(adminUrl, (client) =>
    client.query(`ALTER DATABASE ${name} WITH is_template true allow_connections false`),
  )
}

/**
 * A new database cloned from a template (a file copy, about 20 ms), with its URL.
 * @internal
 */
export async function cloneDatabase(
  adminUrl: string,
  template: string,
): Promise<{ url: string; name: string }> {
  const name = `stratum_test_${randomBytes(6).toString('hex')}`
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
  const name = `stratum_test_${randomBytes(6).toString('hex')}`
  await admin(adminUrl, (client) => client.query(`CREATE DATABASE ${name}`))
  return { url: withDatabase(adminUrl, name), name }
}

/** Drops a test database, disconnecting whoever is still on it. @internal */
export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  await admin(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))
}
