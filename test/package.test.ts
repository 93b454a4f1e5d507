import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { beforeAll, describe, expect, it } from 'vitest'
import { builtPackage } from './helpers/built-package.js'

const run = promisify(execFile)
const root = join(import.meta.dirname, '..')
const outDir = join(root, 'dist')
/** Every core migration the package ships: the built package must find and apply them all. */
const shippedMigrations = JSON.parse(
  await readFile(join(root, 'drizzle', 'meta', '_journal.json'), 'utf8'),
).entries.length as number

const script = (load: string) => `
${load}
const data = await createDataLayer({ embeddings: { dimensions: 8 }, blobs: { driver: memoryBlobDriver() } })
const { applied } = await data.migrate()
const user = await data.users.create({ email: 'Pkg@Example.com' })
const schemaOk = typeof users === 'object' && users !== null
await data.blobs.put('a/b.txt', 'blob')
const blob = (await data.blobs.get('a/b.txt')).toString()
await data.close()
// The S3 driver is a separate chunk, loaded only when S3 is configured.
const onS3 = await createDataLayer({
  embeddings: { dimensions: 8 },
  s3: { bucket: 'some-bucket', endpoint: 'http://127.0.0.1:9', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } },
})
const s3Kind = onS3.blobs.kind
await onS3.close()
console.log(JSON.stringify({ applied: applied.length, email: user.email, schemaOk, blob, s3Kind }))
`

describe('the built package', () => {
  beforeAll(async () => {
    await builtPackage()
  }, 300_000)

  it('works when imported as ESM, finding its shipped migrations', async () => {
    const code = script(
      `const { createDataLayer } = await import(${JSON.stringify(join(outDir, 'index.js'))}); const { users } = await import(${JSON.stringify(join(outDir, 'schema/index.js'))}); const { memoryBlobDriver } = await import(${JSON.stringify(join(outDir, 'storage/index.js'))})`,
    )
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', code], {
      cwd: root,
    })
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toEqual({
      applied: shippedMigrations,
      email: 'pkg@example.com',
      schemaOk: true,
      blob: 'blob',
      s3Kind: 's3',
    })
  })

  it('works when required as CJS, finding its shipped migrations', async () => {
    const code = `(async () => {${script(
      `const { createDataLayer } = require(${JSON.stringify(join(outDir, 'index.cjs'))}); const { users } = require(${JSON.stringify(join(outDir, 'schema/index.cjs'))}); const { memoryBlobDriver } = require(${JSON.stringify(join(outDir, 'storage/index.cjs'))})`,
    )}})().catch((e) => { console.error(e); process.exit(1) })`
    const { stdout } = await run(process.execPath, ['-e', code], { cwd: root })
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toEqual({
      applied: shippedMigrations,
      email: 'pkg@example.com',
      schemaOk: true,
      blob: 'blob',
      s3Kind: 's3',
    })
  })

  it('ships the stratum binary that package.json names', async () => {
    const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as {
      bin: { stratum: string }
    }
    expect(pkg.bin.stratum).toBe('./dist/cli/main.js')
    const built = join(outDir, 'cli', 'main.js')
    expect((await readFile(built, 'utf8')).startsWith('#!/usr/bin/env node')).toBe(true)
    const { stdout } = await run(process.execPath, [built, '--help'], { cwd: root })
    expect(stdout).toMatch(/Usage: stratum/)
  })

  it('exports the contract suites without loading a test runner', async () => {
    const code = `const c = await import(${JSON.stringify(join(outDir, 'testing/contracts/index.js'))}); console.log(JSON.stringify(Object.keys(c).sort()))`
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', code], {
      cwd: root,
    })
    expect(JSON.parse(stdout.trim())).toEqual([
      'blobStoreContract',
      'cacheDriverContract',
      'coordinationContract',
      'uniquePrefix',
    ])
    const cjs = `const c = require(${JSON.stringify(join(outDir, 'testing/contracts/index.cjs'))}); console.log(typeof c.cacheDriverContract)`
    expect((await run(process.execPath, ['-e', cjs], { cwd: root })).stdout.trim()).toBe('function')
  })

  it('exports the test helpers to ESM and to CommonJS (Jest), without a test runner', async () => {
    const names = [
      'createFixtures',
      'createTestDataLayer',
      'dropTemplateDatabases',
      'ensureTemplateDatabase',
      'exportTestServices',
      'globalSetup',
      'globalTeardown',
      'prepareTestServices',
      'startTestServices',
      'testS3FromEnv',
    ]
    const esm = `const t = await import(${JSON.stringify(join(outDir, 'testing/index.js'))}); console.log(JSON.stringify(Object.keys(t).sort()))`
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', esm], {
      cwd: root,
    })
    expect(JSON.parse(stdout.trim())).toEqual(names)
    // A CommonJS caller (Jest's default) gets a working embedded test data layer.
    const cjs = `(async () => {
      const t = require(${JSON.stringify(join(outDir, 'testing/index.cjs'))})
      const layer = await t.createTestDataLayer({ env: {}, embeddings: { dimensions: 8 } })
      const user = await layer.fixtures.user()
      const found = await layer.data.users.findById(user.id)
      await layer.destroy()
      console.log(JSON.stringify({ keys: Object.keys(t).sort(), same: found.email === user.email }))
    })().catch((e) => { console.error(e); process.exit(1) })`
    const out = JSON.parse(
      (await run(process.execPath, ['-e', cjs], { cwd: root })).stdout.trim().split('\n').at(-1)!,
    )
    expect(out).toEqual({ keys: names, same: true })
  })
})
