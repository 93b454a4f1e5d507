import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ConfigError } from '../errors.js'

/** One migration as drizzle-kit wrote it: `<folder>/<tag>.sql`, listed in its journal. */
export interface MigrationFile {
  readonly tag: string
  /** When drizzle-kit generated it (milliseconds since the epoch). */
  readonly createdAt: number
  /** SHA-256 of the file as shipped (before placeholders are filled in). */
  readonly hash: string
  /** Statements, split on drizzle-kit's `--> statement-breakpoint` markers. */
  readonly statements: readonly string[]
}

interface Journal {
  entries: { idx: number; tag: string; when: number; breakpoints: boolean }[]
}

/**
 * Reads the migrations of a drizzle-kit output folder in journal order.
 * @internal
 */
export function readMigrationFolder(folder: string): MigrationFile[] {
  const journalPath = join(folder, 'meta', '_journal.json')
  if (!existsSync(journalPath)) {
    throw new ConfigError(
      `No drizzle-kit journal at ${journalPath}: is the migrations folder right?`,
    )
  }
  const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as Journal
  return [...journal.entries]
    .sort((a, b) => a.idx - b.idx)
    .map((entry) => {
      const text = readFileSync(join(folder, `${entry.tag}.sql`), 'utf8')
      const statements = (entry.breakpoints ? text.split('--> statement-breakpoint') : [text])
        .map((s) => s.trim())
        .filter((s) => s.length > 0)
      return {
        tag: entry.tag,
        createdAt: entry.when,
        hash: createHash('sha256').update(text).digest('hex'),
        statements,
      }
    })
}

function moduleDir(): string {
  // tsup's shims give import.meta.url in the CJS build as well.
  return dirname(fileURLToPath(import.meta.url))
}

/**
 * The folder of the core migrations shipped in the package (`drizzle/` at its root),
 * found from this module's location in `src/` or `dist/`.
 * @internal
 */
export function coreMigrationsFolder(): string {
  let dir = moduleDir()
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'drizzle')
    if (existsSync(join(candidate, 'meta', '_journal.json'))) return candidate
    dir = dirname(dir)
  }
  throw new ConfigError(
    'The core migrations folder (drizzle/) was not found beside the stratum-data package. ' +
      'If a bundler moved its code, keep the package external (esbuild: --packages=external ' +
      "or external: ['stratum-data', '@electric-sql/pglite']; Next.js: serverExternalPackages), " +
      'so that it finds its own files',
  )
}
