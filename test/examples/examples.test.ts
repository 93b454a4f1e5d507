import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { builtPackage } from '../helpers/built-package.js'

const run = promisify(execFile)
const root = join(import.meta.dirname, '..', '..')
let work: string
let tarball: string
/** The example projects' installs, one after another in the background from the start. */
let installs: Record<'notes' | 'consumer' | 'alone', Promise<string>>

/** The test services of this run, for the example projects' own global setups to find. */
const serviceEnv = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => name.startsWith('TEST_')),
)

/** A project of its own with only the packed package installed (no optional peers). */
async function installAlone(): Promise<string> {
  const dir = join(work, 'alone')
  await mkdir(dir)
  await writeFile(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'alone', private: true, type: 'module' }),
  )
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], {
    cwd: dir,
    timeout: 240_000,
  })
  return dir
}

/** Copies an example project out of the repository and installs the packed package in it. */
async function install(example: string): Promise<string> {
  const dir = join(work, example)
  await cp(join(root, 'examples', example), dir, {
    recursive: true,
    filter: (source) => !/[/\\](node_modules|dist)$/.test(source),
  })
  const manifestPath = join(dir, 'package.json')
  const manifest = JSON.parse(await readFile(manifestPath, 'utf8'))
  manifest.devDependencies['stratum-data'] = `file:${tarball}`
  await writeFile(manifestPath, JSON.stringify(manifest, null, 2))
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], {
    cwd: dir,
    timeout: 240_000,
  })
  return dir
}

interface VitestReport {
  numPassedTests: number
  numFailedTests: number
  numPendingTests: number
  testResults: {
    name: string
    startTime: number
    endTime: number
    assertionResults: { fullName: string; status: string }[]
  }[]
}

async function vitest(
  dir: string,
  script: string[],
): Promise<{ report: VitestReport; stdout: string }> {
  const outputFile = join(dir, 'vitest-report.json')
  const { stdout } = await run(
    'npm',
    [...script, '--', '--reporter=json', '--reporter=default', `--outputFile.json=${outputFile}`],
    {
      cwd: dir,
      env: { ...process.env, ...serviceEnv },
      timeout: 300_000,
      maxBuffer: 64 * 1024 * 1024,
    },
  )
  return { report: JSON.parse(await readFile(outputFile, 'utf8')), stdout }
}

describe('the example projects, on the packed package', () => {
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'stratum-examples-'))
    await builtPackage()
    const { stdout } = await run('npm', ['pack', '--pack-destination', work], { cwd: root })
    tarball = join(work, stdout.trim().split('\n').at(-1)!)
    // Installing is mostly waiting on the disk: the next project installs while the tests
    // of the one before run. A failed install fails the test that awaits it.
    const notes = install('extension-notes')
    const consumer = notes.catch(() => {}).then(() => install('consumer-tests'))
    const alone = consumer.catch(() => {}).then(installAlone)
    for (const promise of [notes, consumer, alone]) promise.catch(() => {})
    installs = { notes, consumer, alone }
  }, 300_000)
  afterAll(async () => {
    // An install still running when a test failed must not find its directory gone.
    if (installs) await Promise.allSettled(Object.values(installs))
    if (work) await rm(work, { recursive: true, force: true })
  })

  it('extension-notes builds, type-checks and passes its tests on PGlite and on Postgres', async () => {
    const dir = await installs.notes
    await run('npm', ['run', 'build'], { cwd: dir, timeout: 120_000 })
    const { report } = await vitest(dir, ['test'])
    const names = report.testResults.flatMap((f) => f.assertionResults)
    expect(report.numFailedTests).toBe(0)
    expect(report.numPendingTests).toBe(0)
    const on = (backend: string) =>
      names.filter((t) => t.fullName.includes(`on ${backend}`) && t.status === 'passed').length
    expect(on('pglite')).toBe(6)
    expect(on('postgres')).toBe(6)

    // The built package finds its migrations from dist/ and gives a typed data.ext.notes.
    const script = `
      import { createDataLayer } from 'stratum-data'
      import { notes } from 'stratum-notes'
      const data = await createDataLayer({ extensions: [notes()], embeddings: { dimensions: 8 } })
      const { applied } = await data.migrate()
      const user = await data.users.create({ email: 'ext@example.com' })
      const note = await data.ext.notes.create({ userId: user.id, title: 'built' })
      console.log(JSON.stringify({ applied: applied.map((m) => m.set + '/' + m.tag), title: (await data.ext.notes.findById(note.id)).title }))
      await data.close()`
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
      cwd: dir,
    })
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toEqual({
      applied: [
        'core/0000_enable_pgvector',
        'core/0001_core_schema',
        'core/0002_full_text',
        'core/0003_message_parts',
        'core/0004_streams_and_branches',
        'core/0005_chat_management',
        'core/0006_attachments',
        'core/0007_token_counts',
        'core/0008_summaries_and_notes',
        'core/0009_embedding_queue',
        'core/0010_user_memories',
        'notes/0000_create_notes',
        'notes/0001_pinned_index',
      ],
      title: 'built',
    })
  }, 600_000)

  it('consumer-tests: parallel workers, each file on its own database, cache prefix and blob prefix, under Vitest and Jest', async () => {
    const dir = await installs.consumer
    const { report, stdout } = await vitest(dir, ['test'])
    expect(report.numFailedTests).toBe(0)
    expect(report.numPassedTests).toBe(8)
    // Two worker processes, and files that really ran at the same time.
    const pids = new Set(
      [...stdout.matchAll(/\] pid (\d+) on postgres \(template clone\), redis, s3/g)].map(
        (m) => m[1],
      ),
    )
    expect(pids.size).toBeGreaterThanOrEqual(2)
    const files = report.testResults.map((f) => [f.startTime, f.endTime] as const)
    const overlapping = files.some(([start, end], i) =>
      files.some(([s, e], j) => i !== j && s < end && start < e),
    )
    expect(overlapping).toBe(true)

    // The same helpers under Jest, through the CommonJS build: global setup and teardown,
    // a data layer per file in two workers.
    const jestReport = join(dir, 'jest-report.json')
    const jest = await run(
      'npm',
      ['run', 'test:jest', '--', '--json', `--outputFile=${jestReport}`],
      { cwd: dir, env: { ...process.env, ...serviceEnv }, timeout: 300_000 },
    )
    const jestResult = JSON.parse(await readFile(jestReport, 'utf8'))
    expect(jestResult.numFailedTests).toBe(0)
    expect(jestResult.numPassedTests).toBe(2)
    const jestPids = new Set(
      [
        ...jest.stderr.matchAll(
          /\[jest-[ab]\] pid (\d+) on postgres \(template clone\), redis, s3/g,
        ),
      ].map((m) => m[1]),
    )
    expect(jestPids.size).toBe(2)
  }, 600_000)

  it('installed alone (no optional packages): the embedded default works from ESM, CommonJS and esbuild bundles, Redis or S3 asks for its package, and its types need neither', async () => {
    const dir = await installs.alone
    for (const optional of ['ioredis', '@aws-sdk/client-s3', 's3rver', 'testcontainers'])
      expect(existsSync(join(dir, 'node_modules', optional)), optional).toBe(false)
    const script = `
      import { createDataLayer } from 'stratum-data'
      import { s3BlobDriver } from 'stratum-data/storage'
      const failure = async (fn) => { try { await fn(); return null } catch (e) { return { code: e.code, message: e.message } } }
      const data = await createDataLayer({ blobs: { dir: 'blobs' } })
      await data.migrate()
      const user = await data.users.create({ email: 'alone@example.com' })
      await data.blobs.put('hello.txt', 'hi')
      const email = (await data.users.findById(user.id)).email
      const blob = (await data.blobs.get('hello.txt')).toString('utf8')
      await data.close()
      console.log(JSON.stringify({
        email, blob,
        redis: await failure(() => createDataLayer({ redisUrl: 'redis://127.0.0.1:1' })),
        s3: await failure(() => s3BlobDriver({ bucket: 'uploads' })),
      }))`
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
      cwd: dir,
    })
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!)
    expect(result).toMatchObject({ email: 'alone@example.com', blob: 'hi' })
    expect(result.redis.code).toBe('CONFIG')
    expect(result.redis.message).toContain('npm install ioredis')
    expect(result.s3.code).toBe('CONFIG')
    expect(result.s3.message).toContain('npm install @aws-sdk/client-s3')
    // CommonJS too.
    const cjs = await run(
      process.execPath,
      [
        '-e',
        "require('stratum-data').createDataLayer().then((d) => d.close()).then(() => console.log('ok'))",
      ],
      { cwd: dir },
    )
    expect(cjs.stdout.trim()).toBe('ok')

    // Bundled by esbuild as an application would be: kept external, it runs as ESM and as
    // CommonJS; taken into the bundle, it cannot find its own files and says what to do.
    const esbuild = join(root, 'node_modules/.bin/esbuild')
    await writeFile(
      join(dir, 'app.mjs'),
      [
        "import { createDataLayer } from 'stratum-data'",
        'const data = await createDataLayer()',
        'try {',
        '  await data.migrate()',
        "  const user = await data.users.create({ email: 'bundled@example.com' })",
        '  console.log(JSON.stringify({ email: (await data.users.findById(user.id)).email }))',
        '} finally {',
        '  await data.close()',
        '}',
      ].join('\n'),
    )
    await writeFile(
      join(dir, 'app.cjs'),
      [
        "const { createDataLayer } = require('stratum-data')",
        'createDataLayer().then(async (data) => {',
        '  await data.migrate()',
        "  const user = await data.users.create({ email: 'bundled@example.com' })",
        '  console.log(JSON.stringify({ email: (await data.users.findById(user.id)).email }))',
        '  await data.close()',
        '})',
      ].join('\n'),
    )
    const bundled = async (entry: string, format: 'esm' | 'cjs', ...flags: string[]) => {
      const out = `bundles/${format}-${flags.length}.${format === 'esm' ? 'mjs' : 'cjs'}`
      await run(
        esbuild,
        [
          ...[entry, '--bundle', '--platform=node', '--target=node22'],
          ...['--log-level=error', `--format=${format}`, `--outfile=${out}`, ...flags],
        ],
        { cwd: dir },
      )
      return run(process.execPath, [out], { cwd: dir }).then(
        ({ stdout }) => JSON.parse(stdout.trim().split('\n').at(-1)!),
        (error: { stderr: string }) => ({ failed: error.stderr }),
      )
    }
    const email = { email: 'bundled@example.com' }
    expect(await bundled('app.mjs', 'esm', '--packages=external')).toEqual(email)
    expect(await bundled('app.cjs', 'cjs', '--packages=external')).toEqual(email)
    const whole = await bundled(
      'app.mjs',
      'esm',
      "--banner:js=import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    )
    expect(whole.failed).toContain('ConfigError')
    expect(whole.failed).toContain('--packages=external')

    // Its declarations type-check without ioredis and the AWS SDK, even with skipLibCheck
    // off. drizzle-orm's and PGlite's own declarations fail that check on their own (the
    // MySQL and SQLite dialects, Emscripten globals), so only errors in stratum-data's files
    // or in the user's file count.
    await writeFile(
      join(dir, 'check.ts'),
      [
        "import { createDataLayer, type DataLayerOptions } from 'stratum-data'",
        "import { type RedisClient, redisDriver } from 'stratum-data/cache'",
        "import { type S3ClientLike, s3BlobDriver } from 'stratum-data/storage'",
        'declare const redis: RedisClient',
        'declare const s3: S3ClientLike',
        "const options: DataLayerOptions = { cache: { redis: { client: redis } }, s3: { bucket: 'b', client: s3 } }",
        'const data = await createDataLayer(options)',
        "const user = await data.users.create({ email: 'a@example.com' })",
        'console.log(user.id, typeof redisDriver, typeof s3BlobDriver)',
      ].join('\n'),
    )
    // A deliberate error, to show that the check ran and reports errors.
    await writeFile(join(dir, 'probe.ts'), "export const n: number = 'not a number'\n")
    const tsc = join(root, 'node_modules/typescript/bin/tsc')
    const typeCheck = await run(
      process.execPath,
      [
        tsc,
        ...['--noEmit', '--strict', '--skipLibCheck', 'false', '--target', 'es2022'],
        ...['--module', 'nodenext', '--moduleResolution', 'nodenext'],
        ...[
          '--types',
          'node',
          '--typeRoots',
          join(root, 'node_modules/@types'),
          'check.ts',
          'probe.ts',
        ],
      ],
      { cwd: dir, maxBuffer: 16 * 1024 * 1024 },
    ).catch((error: { stdout: string }) => error)
    const errors = typeCheck.stdout.split('\n').filter((line) => /error TS\d+/.test(line))
    expect(errors.filter((line) => line.startsWith('probe.ts'))).toHaveLength(1)
    expect(
      errors.filter((line) => line.startsWith('check.ts') || line.includes('stratum-data/')),
    ).toEqual([])
  }, 600_000)
})
