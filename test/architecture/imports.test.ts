import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'

const run = promisify(execFile)
const root = fileURLToPath(new URL('../..', import.meta.url))
const cruiser = join(root, 'node_modules/dependency-cruiser/bin/dependency-cruiser.mjs')
const config = join(root, '.dependency-cruiser.cjs')

interface Violation {
  readonly rule: { readonly name: string }
  readonly from: string
  readonly to: string
}

/** Runs dependency-cruiser with the project's rules on `src/` of `cwd`; the rules broken. */
async function violations(cwd: string): Promise<Violation[]> {
  const { stdout } = await run(
    process.execPath,
    [cruiser, 'src', '--config', config, '--output-type', 'json'],
    { cwd, maxBuffer: 64 * 1024 * 1024 },
  ).catch((error: { stdout?: string }) => {
    // It exits non-zero when a rule is broken; the report is still on stdout.
    if (error.stdout) return { stdout: error.stdout }
    throw error
  })
  const report = JSON.parse(stdout) as { summary: { violations: Violation[] } }
  return report.summary.violations
}

describe('the import rules of src/ (.dependency-cruiser.cjs)', () => {
  it('hold: no cycle, type imports included, and no layer imports one above it', async () => {
    const found = await violations(root)
    expect(found.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`)).toEqual([])
  }, 60_000)

  describe('on a tree that breaks them', () => {
    let dir: string
    afterAll(async () => {
      if (dir) await rm(dir, { recursive: true, force: true })
    })

    it('report a cycle of type imports, an upward import and a driver reaching another', async () => {
      dir = await mkdtemp(join(tmpdir(), 'stratum-imports-'))
      const files: Record<string, string> = {
        'tsconfig.json': JSON.stringify({
          compilerOptions: { module: 'ESNext', moduleResolution: 'Bundler' },
        }),
        'src/util/a.ts': "import type { B } from './b.js'\nexport type A = { b?: B }\n",
        'src/util/b.ts': "import type { A } from './a.js'\nexport type B = { a?: A }\n",
        'src/db/connection.ts':
          "import type { Options } from '../config/options.js'\nexport type C = Options\n",
        'src/config/options.ts': 'export type Options = { url?: string }\n',
        'src/cache/cache.ts': "import type { C } from '../db/connection.js'\nexport type K = C\n",
      }
      for (const [path, text] of Object.entries(files)) {
        await mkdir(dirname(join(dir, path)), { recursive: true })
        await writeFile(join(dir, path), text)
      }
      const found = (await violations(dir)).map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`)
      expect(found).toEqual(
        expect.arrayContaining([
          'no-circular: src/util/a.ts -> src/util/b.ts',
          'drivers-imports-upward: src/db/connection.ts -> src/config/options.ts',
          'cache-imports-another-driver: src/cache/cache.ts -> src/db/connection.ts',
        ]),
      )
    }, 60_000)
  })
})
