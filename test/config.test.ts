import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { optionsFromEnv } from '../src/config/env-variables.js'
import { resolveOptions } from '../src/config/options.js'
import { tlsSettings } from '../src/db/postgres-connection.js'
import { createDataLayer, isStratumError, StratumError } from '../src/index.js'
import { redactSecrets } from '../src/util/redact-secrets.js'

async function configError(run: () => unknown): Promise<StratumError> {
  try {
    await run()
  } catch (error) {
    expect(isStratumError(error, 'CONFIG')).toBe(true)
    return error as StratumError
  }
  throw new Error('expected a CONFIG error')
}

describe('options', () => {
  it('fills defaults for an empty call', () => {
    const options = resolveOptions()
    expect(options.embeddings.dimensions).toBe(1536)
    expect(options.database.pool).toEqual({
      max: 10,
      min: 0,
      idleTimeoutMs: 10_000,
      connectionTimeoutMs: 5_000,
      statementTimeoutMs: 0,
      applicationName: 'stratum-data',
    })
    expect(options.databaseUrl).toBeUndefined()
  })

  it('names the bad option in a CONFIG error', async () => {
    const error = await configError(() => createDataLayer({ database: { pool: { max: 0 } } }))
    expect(error.message).toContain('database.pool.max')
    const unknown = await configError(() => createDataLayer({ databse: {} } as never))
    expect(unknown.message).toContain('databse')
    const dims = await configError(() => createDataLayer({ embeddings: { dimensions: 4001 } }))
    expect(dims.message).toContain('embeddings.dimensions')
    for (const partitions of [1, 0, 1025, 2.5]) {
      const bad = await configError(() => createDataLayer({ embeddings: { partitions } }))
      expect(bad.message).toContain('embeddings.partitions')
    }
  })

  it('rejects a malformed database URL without printing its password', async () => {
    const error = await configError(() =>
      createDataLayer({ databaseUrl: 'postgres://app:s3cr3t-pw@host:notaport/db' }),
    )
    expect(error.message).toContain('databaseUrl')
    expect(error.message).not.toContain('s3cr3t-pw')
    const mysql = await configError(() =>
      createDataLayer({ databaseUrl: 'mysql://app:s3cr3t-pw@localhost/db' }),
    )
    expect(mysql.message).toContain('postgres://')
    expect(mysql.message).not.toContain('s3cr3t-pw')
  })

  it('refuses two database choices at once', async () => {
    const error = await configError(() =>
      createDataLayer({ databaseUrl: 'postgres://localhost/db', database: { dir: '/tmp/x' } }),
    )
    expect(error.message).toContain('give only one of databaseUrl, database.dir')
  })

  it('reads the environment, with overrides winning', () => {
    const options = optionsFromEnv(
      {
        DATABASE_URL: 'postgres://u:p@db:5432/app',
        DATABASE_POOL_MAX: '25',
        DATABASE_STATEMENT_TIMEOUT_MS: '3000',
        DATABASE_TLS: 'true',
        STRATUM_EMBEDDING_DIMENSIONS: '384',
        STRATUM_EMBEDDING_PARTITIONS: '16',
      },
      { database: { pool: { max: 5 } } },
    )
    const resolved = resolveOptions(options)
    expect(resolved.databaseUrl).toBe('postgres://u:p@db:5432/app')
    expect(resolved.database.pool.max).toBe(5)
    expect(resolved.database.pool.statementTimeoutMs).toBe(3000)
    expect(resolved.database.tls).toBe(true)
    expect(resolved.embeddings.dimensions).toBe(384)
    expect(resolved.embeddings.partitions).toBe(16)
  })

  it('reads TLS settings from the environment, verification on unless turned off', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stratum-ca-'))
    const caFile = join(dir, 'ca.pem')
    await writeFile(caFile, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n')
    const withCa = resolveOptions(
      optionsFromEnv({ DATABASE_TLS: 'true', DATABASE_TLS_CA_FILE: caFile }),
    )
    expect(withCa.database.tls).toMatchObject({ rejectUnauthorized: true })
    expect(String((withCa.database.tls as { ca: Buffer }).ca)).toContain('BEGIN CERTIFICATE')
    const off = resolveOptions(optionsFromEnv({ DATABASE_TLS_REJECT_UNAUTHORIZED: 'false' }))
    expect(off.database.tls).toEqual({ rejectUnauthorized: false })
    await configError(() =>
      createDataLayer.fromEnv({ DATABASE_TLS_CA_FILE: join(dir, 'missing.pem') }),
    )
    await configError(() =>
      createDataLayer.fromEnv({ DATABASE_TLS: 'false', DATABASE_TLS_CA_FILE: caFile }),
    )
    await rm(dir, { recursive: true, force: true })
  })

  it('rejects a malformed environment value naming the variable', async () => {
    const error = await configError(() => createDataLayer.fromEnv({ DATABASE_POOL_MAX: 'lots' }))
    expect(error.message).toContain('DATABASE_POOL_MAX')
  })
})

describe('TLS', () => {
  it('verifies certificates by default when TLS is on', () => {
    expect(tlsSettings('postgres://h/db', true).ssl).toEqual({ rejectUnauthorized: true })
    expect(tlsSettings('postgres://h/db', { ca: 'PEM' }).ssl).toEqual({
      rejectUnauthorized: true,
      ca: 'PEM',
    })
  })

  it('turns verification off only when asked explicitly', () => {
    expect(tlsSettings('postgres://h/db', { rejectUnauthorized: false }).ssl).toEqual({
      rejectUnauthorized: false,
    })
    expect(resolveOptions({ database: { tls: {} } }).database.tls).toEqual({
      rejectUnauthorized: true,
    })
  })

  it('removes the URL ssl parameters when a tls option is given, since pg lets them win', () => {
    const { connectionString } = tlsSettings(
      'postgres://u:p@h:5432/db?sslmode=no-verify&application_name=x',
      true,
    )
    expect(connectionString).not.toContain('sslmode')
    expect(connectionString).toContain('application_name=x')
  })

  it('pins what sslmode means: every mode but disable and no-verify verifies (verify-full)', () => {
    const mode = (url: string) =>
      new URL(tlsSettings(url, undefined).connectionString).searchParams.get('sslmode')
    for (const verifying of ['prefer', 'require', 'verify-ca', 'verify-full'])
      expect(mode(`postgres://h/db?sslmode=${verifying}&sslrootcert=/ca.pem`), verifying).toBe(
        'verify-full',
      )
    expect(mode('postgres://h/db?sslmode=disable')).toBe('disable')
    expect(mode('postgres://h/db?sslmode=no-verify')).toBe('no-verify')
    // Only an explicit request for libpq's meaning keeps `require` as libpq reads it.
    expect(mode('postgres://h/db?sslmode=require&uselibpqcompat=true')).toBe('require')
    expect(
      new URL(
        tlsSettings('postgres://h/db?sslmode=require&sslrootcert=/ca.pem', undefined)
          .connectionString,
      ).searchParams.get('sslrootcert'),
    ).toBe('/ca.pem')
  })
})

describe('secret redaction', () => {
  it('masks URL passwords and password pairs', () => {
    expect(redactSecrets('connect postgres://app:hunter2@db:5432/x failed')).toBe(
      'connect postgres://app:***@db:5432/x failed',
    )
    expect(redactSecrets('host=db password=hunter2 user=app')).toBe('host=db password=*** user=app')
    expect(
      new StratumError('UNAVAILABLE', 'redis://:hunter2@cache:6379 down').message,
    ).not.toContain('hunter2')
  })
})
