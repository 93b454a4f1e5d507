import { createHash } from 'node:crypto'
import { statSync } from 'node:fs'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { vector } from '@electric-sql/pglite-pgvector'
import { resolveOptions } from '../config/options.js'
import { createDataLayer } from '../data-layer/create-data-layer.js'
import { migrationSetsOf } from '../data-layer/migration-sets.js'
import type { MigrationSet } from '../db/migrator.js'
import { migrationSetsHash, type TemplateOptions, templateOptionsOf } from './template-databases.js'

/** Where migrated PGlite data directories are kept between test files and runs. */
export const PGLITE_TEMPLATE_DIR = join(tmpdir(), 'stratum-data', 'pglite-templates')

const inProcess = new Map<string, Promise<Blob>>()

/** Identifies the installed PGlite build: a dump is only loaded by the build that made it. */
function pgliteBuild(): string {
  const require = createRequire(import.meta.url)
  const files = ['@electric-sql/pglite', '@electric-sql/pglite-pgvector'].map((name) => {
    const stat = statSync(require.resolve(name))
    return `${name}:${stat.size}:${stat.mtimeMs}`
  })
  return files.join('|')
}

async function build(options: TemplateOptions): Promise<Blob> {
  const pglite = new PGlite({ extensions: { vector } })
  try {
    const data = await createDataLayer({
      ...templateOptionsOf(options),
      database: { client: pglite },
    })
    try {
      await data.migrate()
    } finally {
      await data.close()
    }
    return await pglite.dumpDataDir('gzip')
  } finally {
    await pglite.close()
  }
}

/**
 * A migrated PGlite data directory (a gzipped dump) for these options: built once per
 * set of migrations and PGlite build, then kept in this process and on disk under
 * {@link PGLITE_TEMPLATE_DIR}, so a later test file (in any worker, or a later run) starts
 * an in-memory PGlite from it in about a second instead of initializing and migrating one.
 * Two workers building the same one at once both write it; the rename makes that harmless.
 * @internal
 */
export function pgliteTemplate(
  options: TemplateOptions = {},
  sets: readonly MigrationSet[] = migrationSetsOf(resolveOptions(options)),
): Promise<Blob> {
  const key = createHash('sha256')
    .update(migrationSetsHash(sets))
    .update(pgliteBuild())
    .digest('hex')
    .slice(0, 24)
  let pending = inProcess.get(key)
  if (!pending) {
    pending = (async () => {
      const file = join(PGLITE_TEMPLATE_DIR, `${key}.tar.gz`)
      const stored = await readFile(file).catch(() => undefined)
      if (stored) return new Blob([stored])
      const dump = await build(options)
      await mkdir(PGLITE_TEMPLATE_DIR, { recursive: true })
      const temporary = `${file}.${process.pid}.tmp`
      await writeFile(temporary, Buffer.from(await dump.arrayBuffer()))
      await rename(temporary, file)
      return dump
    })()
    pending.catch(() => inProcess.delete(key))
    inProcess.set(key, pending)
  }
  return pending
}
