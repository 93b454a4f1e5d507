import { execFile } from 'node:child_process'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { builtPackage } from '../helpers/built-package.js'

const run = promisify(execFile)
const root = join(import.meta.dirname, '..', '..')

/** The TypeScript blocks of the README, each as it would be pasted into a file of its own. */
async function readmeBlocks(): Promise<string[]> {
  const readme = await readFile(join(root, 'README.md'), 'utf8')
  return [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!)
}

describe("the README's TypeScript", () => {
  it('compiles, block by block, against the built package', async () => {
    await builtPackage()
    const blocks = await readmeBlocks()
    expect(blocks.length).toBeGreaterThan(15)
    // Inside the repository so that the blocks find the dependencies a user would have.
    const dir = join(root, '.cache', 'readme-blocks')
    await rm(dir, { recursive: true, force: true })
    await mkdir(dir, { recursive: true })
    const entry = (path: string) => [join(root, 'dist', path)]
    await writeFile(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'ESNext',
          moduleResolution: 'Bundler',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: ['node'],
          paths: {
            'stratum-data': entry('index.d.ts'),
            'stratum-data/schema': entry('schema/index.d.ts'),
            'stratum-data/cache': entry('cache/index.d.ts'),
            'stratum-data/storage': entry('storage/index.d.ts'),
            'stratum-data/testing': entry('testing/index.d.ts'),
            'stratum-data/testing/contracts': entry('testing/contracts/index.d.ts'),
          },
        },
        include: ['*.ts'],
      }),
    )
    // Each block a module of its own (so top-level await and names never clash).
    await Promise.all(
      blocks.map((block, i) =>
        writeFile(join(dir, `block-${String(i).padStart(2, '0')}.ts`), `${block}\nexport {}\n`),
      ),
    )
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
    const result = await run(process.execPath, [tsc, '-p', dir, '--pretty', 'false'], {
      cwd: dir,
    }).then(
      () => '',
      (error: { stdout?: string }) => error.stdout ?? String(error),
    )
    expect(result.split('\n').filter(Boolean)).toEqual([])
  }, 300_000)
})
