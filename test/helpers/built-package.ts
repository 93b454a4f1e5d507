import { execFile } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import lockfile from 'proper-lockfile'
import { inject } from 'vitest'

const run = promisify(execFile)
const root = join(import.meta.dirname, '..', '..')

/**
 * Builds the package into `dist/` (tsup: ESM, CJS, declarations, the CLI) once per test
 * run, whichever test file asks first; the others wait on a file lock and reuse it.
 * Returns the root of the built package (the repository, whose package.json points there).
 */
export async function builtPackage(): Promise<string> {
  const runId = inject('runId')
  const stamp = join(root, '.test-build-stamp')
  const release = await lockfile.lock(root, {
    lockfilePath: join(root, '.test-build.lock'),
    stale: 300_000,
    retries: { retries: 1000, minTimeout: 100, maxTimeout: 500 },
  })
  try {
    if ((await readFile(stamp, 'utf8').catch(() => '')) !== runId) {
      await run('npx', ['tsup'], { cwd: root, timeout: 300_000 })
      await writeFile(stamp, runId)
    }
  } finally {
    await release()
  }
  return root
}
