import { execFile } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { uniquePrefix } from '../../src/testing/contracts/index.js'
import { freePort } from '../../src/testing/free-port.js'
import { createEmptyDatabase, dropDatabase } from '../../src/testing/template-databases.js'
import { builtPackage } from '../helpers/built-package.js'

const run = promisify(execFile)
const root = join(import.meta.dirname, '..', '..')

interface CliResult {
  code: number
  stdout: string
  stderr: string
}

const outDir = join(root, 'dist')

/** Runs the built `stratum` binary (what package.json's `bin` points at) in a child process. */
async function stratum(args: string[], env: Record<string, string>): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      [join(outDir, 'cli', 'main.js'), ...args],
      { cwd: root, env: { ...process.env, ...env }, timeout: 120_000 },
    )
    return { code: 0, stdout, stderr }
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string }
    if (typeof e.code !== 'number') throw error
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }
  }
}

const json = (result: CliResult) => JSON.parse(result.stdout) as Record<string, unknown>

describe('the stratum CLI, against real Postgres, Redis and S3', () => {
  const adminUrl = inject('postgresUrl')
  const s3 = inject('s3')
  let env: Record<string, string>
  const databases: string[] = []
  const roles: string[] = []
  beforeAll(async () => {
    await builtPackage()
    const empty = await createEmptyDatabase(adminUrl)
    databases.push(empty.name)
    env = {
      DATABASE_URL: empty.url,
      REDIS_URL: inject('redisUrl'),
      STRATUM_CACHE_PREFIX: `cli-${randomUUID()}:`,
      S3_BUCKET: s3.bucket,
      S3_ENDPOINT: s3.endpoint,
      S3_REGION: s3.region,
      S3_FORCE_PATH_STYLE: 'true',
      S3_CHECKSUMS: s3.checksums,
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
      STRATUM_BLOB_PREFIX: uniquePrefix(),
      STRATUM_EMBEDDING_DIMENSIONS: '384',
    }
  })
  afterAll(async () => {
    await Promise.all(databases.map((name) => dropDatabase(adminUrl, name)))
    const admin = new pg.Client({ connectionString: adminUrl })
    await admin.connect()
    for (const role of roles) await admin.query(`DROP ROLE IF EXISTS ${role}`)
    await admin.end()
  })

  it('prints help for every command, exit 0; an unknown command is exit 2', async () => {
    const helps: Promise<CliResult>[] = []
    for (const command of [
      [],
      ['migrate'],
      ['status'],
      ['health'],
      ['backup'],
      ['backups'],
      ['restore'],
      ['roles'],
      ['doctor'],
      ['index'],
      ['partition'],
    ]) {
      helps.push(stratum([...command, '--help'], env))
    }
    // Started together: each is a program start of about a second, and none touches data.
    for (const result of await Promise.all(helps)) {
      expect(result.code).toBe(0)
      expect(result.stdout).toMatch(/Usage: stratum/)
    }
    const [unknown, missing] = await Promise.all([
      stratum(['frobnicate'], env),
      stratum(['restore'], env), // missing argument
    ])
    expect(unknown.code).toBe(2)
    expect(missing.code).toBe(2)
  })

  it('migrate --dry-run lists pending migrations, migrate applies them, again applies nothing', async () => {
    const dry = await stratum(['--json', 'migrate', '--dry-run'], env)
    expect(dry.code).toBe(0)
    expect(json(dry)).toEqual({
      dryRun: true,
      pending: expect.arrayContaining([expect.stringMatching(/^core\//)]),
    })
    const pending = (json(dry).pending as string[]).length
    expect(pending).toBeGreaterThanOrEqual(3)
    const applied = await stratum(['--json', 'migrate', '--verify'], env)
    expect(applied.code).toBe(0)
    expect((json(applied).applied as string[]).length).toBe(pending)
    expect((json(applied).steps as { step: string }[]).map((s) => s.step)).toEqual([
      'backup',
      'copy',
      'verify',
      'apply',
    ])
    const again = await stratum(['migrate'], env)
    expect(again.code).toBe(0)
    expect(again.stdout).toMatch(/Up to date/)
  })

  it('status reports migrations, extensions and indexes', async () => {
    const result = await stratum(['--json', 'status'], env)
    expect(result.code).toBe(0)
    const status = json(result) as {
      backend: string
      migrations: { applied: unknown[]; pending: unknown[] }
      extensions: { name: string; version: string }[]
      indexes: { table: string; name: string }[]
    }
    expect(status.backend).toBe('postgres')
    expect(status.migrations.pending).toEqual([])
    expect(status.extensions.map((e) => e.name)).toContain('vector')
    expect(status.indexes.some((i) => i.table === 'chat_vectors')).toBe(true)
  })

  it('index builds the vector index once, then finds it', async () => {
    const built = await stratum(['--json', 'index', '--metric', 'l2', '--m', '8'], env)
    expect(built.code).toBe(0)
    expect(json(built)).toMatchObject({ created: true, name: expect.stringContaining('l2') })
    const again = await stratum(['--json', 'index', '--metric', 'l2', '--m', '8'], env)
    expect(json(again)).toMatchObject({ created: false })
    const bad = await stratum(['--json', 'index', '--m', 'lots'], env)
    expect(bad.code).toBe(2)
    const badMetric = await stratum(['--json', 'index', '--metric', 'manhattan'], env)
    expect(badMetric.code).toBe(2)
  })

  it('partition splits chat_vectors of a database of its own into hash partitions, once', async () => {
    const own = await createEmptyDatabase(adminUrl)
    databases.push(own.name)
    const ownEnv = { ...env, DATABASE_URL: own.url }
    expect((await stratum(['--json', 'migrate'], ownEnv)).code).toBe(0)
    // Another target configured than the one asked for: refused before anything is done.
    const mismatch = await stratum(['--json', 'partition', '4'], {
      ...ownEnv,
      STRATUM_EMBEDDING_PARTITIONS: '8',
    })
    expect(mismatch.code).toBe(2)
    expect(mismatch.stdout).toContain('STRATUM_EMBEDDING_PARTITIONS')
    // The target already configured (as the applications will have it): the one table is
    // still converted.
    const converted = await stratum(['--json', 'partition', '4', '--batch-size', '50'], {
      ...ownEnv,
      STRATUM_EMBEDDING_PARTITIONS: '4',
    })
    expect(converted.code).toBe(0)
    expect(json(converted)).toMatchObject({ converted: true, partitions: 4, oldTable: null })
    const client = new pg.Client({ connectionString: own.url })
    await client.connect()
    try {
      const { rows } = await client.query(
        "select pg_get_partkeydef('chat_vectors'::regclass) as key",
      )
      expect(rows[0].key).toBe('HASH (user_id)')
    } finally {
      await client.end()
    }
    const again = await stratum(['--json', 'partition', '4'], ownEnv)
    expect(json(again)).toMatchObject({ converted: false })
    // A layer configured for the new layout now opens on it.
    const configured = await stratum(['--json', 'status'], {
      ...ownEnv,
      STRATUM_EMBEDDING_PARTITIONS: '4',
    })
    expect(configured.code).toBe(0)
    const [few, word] = await Promise.all([
      stratum(['--json', 'partition', '1'], ownEnv),
      stratum(['--json', 'partition', 'lots'], ownEnv),
    ])
    expect(few.code).toBe(2)
    expect(word.code).toBe(2)
  })

  it('doctor reports its checks as JSON', async () => {
    const result = await stratum(['--json', 'doctor'], env)
    expect(result.code).toBe(0)
    const report = json(result) as { warnings: number; checks: { name: string; status: string }[] }
    expect(report.checks).toHaveLength(7)
    expect(report.checks.map((c) => c.name)).toContain('vector indexes')
    const human = await stratum(['doctor'], env)
    expect(human.stdout).toMatch(/Doctor: \d+ warning/)
  })

  it('health exits 0 when all is up, 3 when Redis is down, 4 when the database is', async () => {
    const ok = await stratum(['--json', 'health'], env)
    expect(ok.code).toBe(0)
    expect(json(ok)).toMatchObject({
      status: 'ok',
      parts: { database: { status: 'ok' }, cache: { backend: 'redis' }, blobs: { backend: 's3' } },
    })
    const deadRedis = await stratum(['--json', 'health'], {
      ...env,
      REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
    })
    expect(deadRedis.code).toBe(3)
    expect(json(deadRedis)).toMatchObject({
      status: 'degraded',
      parts: { cache: { status: 'down' } },
    })
    const human = await stratum(['health'], env)
    expect(human.stdout).toMatch(/Status: ok/)
    // An unreachable database is a `down` report (exit 4) for health...
    const port = await freePort()
    const deadUrl = `postgres://u:secret-pw@127.0.0.1:${port}/x`
    const deadDb = await stratum(['--json', 'health'], { ...env, DATABASE_URL: deadUrl })
    expect(deadDb.code).toBe(4)
    expect(json(deadDb)).toMatchObject({ status: 'down', error: { code: 'UNAVAILABLE' } })
    expect(deadDb.stdout).not.toContain('secret-pw')
    // ...and a failure (exit 1, the error as JSON) for every other command.
    const deadStatus = await stratum(['--json', 'status'], { ...env, DATABASE_URL: deadUrl })
    expect(deadStatus.code).toBe(1)
    expect(json(deadStatus)).toMatchObject({ error: { code: 'UNAVAILABLE' } })
    expect(deadStatus.stdout).not.toContain('secret-pw')
  })

  it('backup, backups and restore round-trip the data into a new database', async () => {
    const seeded = new pg.Client({ connectionString: env.DATABASE_URL })
    await seeded.connect()
    await seeded.query(`INSERT INTO users (email, first_name) VALUES ('cli@example.com', 'Cli')`)
    await seeded.end()

    const backup = await stratum(['--json', 'backup'], env)
    expect(backup.code).toBe(0)
    const info = json(backup) as { key: string; sizeBytes: number; tables: Record<string, number> }
    expect(info.tables['public.users']).toBe(1)
    const list = await stratum(['--json', 'backups'], env)
    expect((JSON.parse(list.stdout) as { key: string }[]).map((b) => b.key)).toContain(info.key)

    const intoName = `cli_restore_${randomUUID().replace(/-/g, '').slice(0, 10)}`
    databases.push(intoName)
    const into = new URL(adminUrl)
    into.pathname = `/${intoName}`
    const restored = await stratum(['--json', 'restore', info.key, '--into', into.toString()], env)
    expect(restored.code).toBe(0)
    expect(json(restored)).toMatchObject({ created: true, tables: info.tables })

    const again = await stratum(['--json', 'restore', info.key, '--into', into.toString()], env)
    expect(again.code).toBe(1)
    expect(json(again)).toMatchObject({ error: { code: 'CONFLICT' } })
    const missing = await stratum(['restore', 'backups/nope.dump', '--into', into.toString()], env)
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/NOT_FOUND/)
  })

  it('roles prints the plan with the password masked, and --apply creates the roles', async () => {
    const suffix = randomUUID().replace(/-/g, '').slice(0, 8)
    const names = ['--app-role', `cli_app_${suffix}`, '--readonly-role', `cli_ro_${suffix}`]
    roles.push(`cli_app_${suffix}`, `cli_ro_${suffix}`)
    const withPassword = { ...env, CLI_APP_PASSWORD: `pw-${suffix}-long` }
    const plan = await stratum(
      ['--json', 'roles', ...names, '--app-password-env', 'CLI_APP_PASSWORD'],
      withPassword,
    )
    expect(plan.code).toBe(0)
    expect(json(plan)).toMatchObject({ applied: false, app: `cli_app_${suffix}` })
    expect(plan.stdout).not.toContain(`pw-${suffix}-long`)
    const applied = await stratum(
      ['--json', 'roles', '--apply', ...names, '--app-password-env', 'CLI_APP_PASSWORD'],
      withPassword,
    )
    expect(applied.code).toBe(0)
    const appUrl = new URL(env.DATABASE_URL!)
    appUrl.username = `cli_app_${suffix}`
    appUrl.password = `pw-${suffix}-long`
    const client = new pg.Client({ connectionString: appUrl.toString() })
    await client.connect()
    expect((await client.query('SELECT count(*) AS n FROM users')).rows[0].n).toBe('1')
    await expect(client.query('CREATE TABLE nope (id int)')).rejects.toMatchObject({
      code: '42501',
    })
    await client.end()
    const unset = await stratum(['--json', 'roles', '--app-password-env', 'NOT_SET_ANYWHERE'], env)
    expect(unset.code).toBe(2)
  })

  // `script` gives the program a pseudo-terminal, where progress bars are drawn.
  it.runIf(existsSync('/usr/bin/script'))(
    'draws a progress bar for a backup on a terminal, and none in JSON or a pipe',
    async () => {
      const command = `${process.execPath} ${join(outDir, 'cli', 'main.js')} backup`
      const { stdout } = await run('script', ['-qec', command, '/dev/null'], {
        cwd: root,
        env: { ...process.env, ...env },
      })
      expect(stdout).toMatch(/upload \[=+\] [\d.]+\/[\d.]+ MiB/)
      const piped = await stratum(['backup'], env)
      expect(piped.stderr).not.toContain('MiB')
    },
  )

  it('refuses to run without a database instead of opening a throwaway in-memory one', async () => {
    const noDatabase = { ...env, DATABASE_URL: '', STRATUM_DATA_DIR: '' }
    const migrate = await stratum(['--json', 'migrate'], noDatabase)
    expect(migrate.code).toBe(2)
    expect(json(migrate)).toMatchObject({
      error: { code: 'CONFIG', message: expect.stringContaining('STRATUM_DATA_DIR') },
    })
    const dir = await mkdtemp(join(tmpdir(), 'stratum-cli-embedded-'))
    try {
      const embedded = { ...noDatabase, STRATUM_DATA_DIR: join(dir, 'db') }
      expect((await stratum(['--json', 'migrate'], embedded)).code).toBe(0)
      const status = await stratum(['--json', 'status'], embedded)
      expect(status.code).toBe(0)
      expect(json(status)).toMatchObject({ migrations: { pending: [] } })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it("loads the app's options with --config, so its migration sets are seen and applied", async () => {
    const own = await createEmptyDatabase(adminUrl)
    databases.push(own.name)
    const dir = await mkdtemp(join(tmpdir(), 'stratum-cli-config-'))
    try {
      const folder = join(dir, 'drizzle-extra')
      await mkdir(join(folder, 'meta'), { recursive: true })
      await writeFile(
        join(folder, 'meta', '_journal.json'),
        JSON.stringify({
          version: '7',
          dialect: 'postgresql',
          entries: [{ idx: 0, version: '7', when: 1, tag: '0000_extra', breakpoints: true }],
        }),
      )
      await writeFile(
        join(folder, '0000_extra.sql'),
        'CREATE TABLE cli_extra (id integer PRIMARY KEY);',
      )
      const config = join(dir, 'stratum.config.mjs')
      await writeFile(
        config,
        `export default () => ({ migrations: { sets: [{ name: 'extra', folder: ${JSON.stringify(folder)} }] } })\n`,
      )
      const ownEnv = { ...env, DATABASE_URL: own.url }
      const without = await stratum(['--json', 'migrate'], ownEnv)
      expect(without.code).toBe(0)
      const pending = await stratum(['--json', '--config', config, 'status'], ownEnv)
      expect(JSON.stringify(json(pending))).toContain('0000_extra')
      expect((await stratum(['--json', '--config', config, 'migrate'], ownEnv)).code).toBe(0)
      const after = await stratum(['--json', 'status'], { ...ownEnv, STRATUM_CONFIG: config })
      expect(json(after)).toMatchObject({ migrations: { pending: [] } })
      const client = new pg.Client({ connectionString: own.url })
      await client.connect()
      expect((await client.query(`select to_regclass('cli_extra') as t`)).rows[0].t).toBe(
        'cli_extra',
      )
      await client.end()
      const broken = await stratum(
        ['--json', '--config', join(dir, 'missing.mjs'), 'status'],
        ownEnv,
      )
      expect(broken.code).toBe(2)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('exits 2 on bad configuration, naming the variable', async () => {
    const result = await stratum(['--json', 'status'], { ...env, DATABASE_POOL_MAX: 'lots' })
    expect(result.code).toBe(2)
    expect(json(result)).toMatchObject({
      error: { code: 'CONFIG', message: expect.stringContaining('DATABASE_POOL_MAX') },
    })
  })
})
