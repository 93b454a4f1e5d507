import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ENV_VARIABLES, optionsFromEnv } from '../../src/config/env-variables.js'
import { resolveOptions } from '../../src/config/options.js'
import { isStratumError } from '../../src/errors.js'

const refusal = (fn: () => unknown) => {
  try {
    fn()
  } catch (error) {
    if (isStratumError(error)) return error
    throw error
  }
  throw new Error('expected a refusal')
}

describe('options from the environment (pure)', () => {
  it('every variable sets an option the schema knows, and names are unique', () => {
    const names = ENV_VARIABLES.map((v) => v.name)
    expect(new Set(names).size).toBe(names.length)
    for (const variable of ENV_VARIABLES) {
      // Each path must reach a real option: building an object from it alone and resolving
      // it may fail on the value's rules, but never as an unknown option.
      let value: unknown =
        variable.kind === 'boolean'
          ? true
          : variable.kind === 'int'
            ? 2
            : variable.kind === 'list'
              ? ['redis://h:1']
              : 'x'
      for (const key of [...variable.path].reverse()) value = { [key]: value }
      try {
        resolveOptions(value as never)
      } catch (error) {
        expect(String((error as Error).message), variable.name).not.toContain('unknown option')
      }
    }
  })

  it('parses each kind, skips empty values, and lets overrides win', () => {
    const options = optionsFromEnv(
      {
        DATABASE_POOL_MAX: ' 7 ',
        DATABASE_PREPARED_STATEMENTS: 'off',
        DATABASE_REPLICA_URLS: 'postgres://a/db, postgres://b/db,',
        STRATUM_CACHE_PREFIX: '',
        REDIS_URL: 'redis://r:6379',
      },
      { database: { pool: { min: 1 } }, redisUrl: 'redis://override:6379' },
    )
    expect(options).toEqual({
      database: { pool: { max: 7, min: 1 }, preparedStatements: false },
      replicas: ['postgres://a/db', 'postgres://b/db'],
      redisUrl: 'redis://override:6379',
    })
  })

  it('reads a PEM file for a *_CA_FILE variable and turns TLS into its object form', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stratum-env-'))
    await writeFile(join(dir, 'ca.pem'), 'PEM')
    const options = optionsFromEnv({
      DATABASE_TLS: 'true',
      DATABASE_TLS_CA_FILE: join(dir, 'ca.pem'),
    })
    expect(options.database?.tls).toEqual({ ca: Buffer.from('PEM') })
  })

  it.each([
    [{ DATABASE_POOL_MAX: '7.5' }, 'DATABASE_POOL_MAX must be a whole number'],
    [{ DATABASE_TLS: 'maybe' }, 'DATABASE_TLS must be true or false'],
    [
      { DATABASE_TLS_CA_FILE: '/nonexistent/ca.pem' },
      'DATABASE_TLS_CA_FILE names a file that cannot be read',
    ],
    [
      { DATABASE_TLS: 'false', DATABASE_TLS_CA_FILE: '/x' },
      'DATABASE_TLS_CA_FILE conflicts with tls turned off by another variable',
    ],
  ])('refuses %j with CONFIG', (env, message) => {
    const error = refusal(() => optionsFromEnv(env))
    expect(error.code).toBe('CONFIG')
    expect(error.message).toBe(message)
  })
})
