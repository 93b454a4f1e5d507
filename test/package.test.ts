import { execFile } from 'node:child_process'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const run = promisify(execFile)
const root = join(import.meta.dirname, '..')
const outDir = join(root, '.test-dist')

const script = (load: string) => `
${load}
const data = await createDataLayer({ embeddings: { dimensions: 8 } })
const { applied } = await data.migrate()
const user = await data.users.create({ email: 'Pkg@Example.com' })
const schemaOk = typeof users === 'object' && users !== null
await data.close()
console.log(JSON.stringify({ applied: applied.length, email: user.email, schemaOk }))
`

describe('the built package', () => {
  beforeAll(async () => {
    await run('npx', ['tsup', '--no-dts', '--out-dir', outDir], { cwd: root })
  }, 120_000)
  afterAll(async () => {
    await rm(outDir, { recursive: true, force: true })
  })

  it('works when imported as ESM, finding its shipped migrations', async () => {
    const code = script(
      `const { createDataLayer } = await import(${JSON.stringify(join(outDir, 'index.js'))}); const { users } = await import(${JSON.stringify(join(outDir, 'schema/index.js'))})`,
    )
    const { stdout } = await run('node', ['--input-type=module', '-e', code], { cwd: root })
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toEqual({
      applied: 3,
      email: 'pkg@example.com',
      schemaOk: true,
    })
  })

  it('works when required as CJS, finding its shipped migrations', async () => {
    const code = `(async () => {${script(
      `const { createDataLayer } = require(${JSON.stringify(join(outDir, 'index.cjs'))}); const { users } = require(${JSON.stringify(join(outDir, 'schema/index.cjs'))})`,
    )}})().catch((e) => { console.error(e); process.exit(1) })`
    const { stdout } = await run('node', ['-e', code], { cwd: root })
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toEqual({
      applied: 3,
      email: 'pkg@example.com',
      schemaOk: true,
    })
  })
})
