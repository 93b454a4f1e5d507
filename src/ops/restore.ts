import { createHash } from 'node:crypto'
import { mkdir, readdir, rm } from 'node:fs/promises'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { PGlite } from '@electric-sql/pglite'
import { vector } from '@electric-sql/pglite-pgvector'
import type pg from 'pg'
import {
  databaseNameOf,
  onMaintenanceDatabase,
  quoteIdentifier,
  withClient,
} from '../db/server-admin.js'
import { ConfigError, StratumError } from '../errors.js'
import type { BlobStore } from '../storage/blob-store.js'
import { clip } from '../util/clip.js'
import { redactSecrets } from '../util/redact-secrets.js'
import {
  type BackupInfo,
  type BackupSettings,
  readManifest,
  type TransferProgress,
} from './backup.js'
import { findPgTool, runPgTool } from './pg-tools.js'
import { countMismatches, countTableRows, type Query } from './table-counts.js'

/** Where to restore to and how to report. */
export interface RestoreOptions {
  /**
   * A server backup: the URL of a new or empty database (created when missing; default: the
   * data layer's own database, which must then be empty). A PGlite backup: a directory that
   * does not exist yet or is empty.
   */
  readonly into?: string
  readonly onProgress?: (progress: TransferProgress) => void
}

/** What a restore did. */
export interface RestoreResult {
  readonly key: string
  /** Where it went (a URL without its password, or a directory). */
  readonly into: string
  /** Whether the database or directory was created by the restore. */
  readonly created: boolean
  /** Rows per table after the restore; equal to the manifest's, or the restore fails. */
  readonly tables: Readonly<Record<string, number>>
  readonly durationMs: number
}

/** What a restore needs from the data layer. @internal */
export interface RestoreContext {
  readonly backend: 'postgres' | 'pglite'
  readonly blobs: BlobStore
  readonly databaseUrl?: string | undefined
  readonly settings: BackupSettings
}

function integrity(message: string, details: Record<string, unknown>): StratumError {
  return new StratumError('INTEGRITY', message, { details })
}

/**
 * Passes bytes on one chunk late and checks the SHA-256 before releasing the last one:
 * pg_restore cannot finish (and commit) a dump whose bytes differ from the manifest's.
 */
function verifyingStream(expected: string, onBytes: (bytes: number) => void) {
  const hash = createHash('sha256')
  let held: Buffer | undefined
  let bytes = 0
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk)
      bytes += chunk.byteLength
      onBytes(bytes)
      const previous = held
      held = chunk
      done(null, previous)
    },
    flush(done) {
      const actual = hash.digest('hex')
      if (actual !== expected) {
        done(
          integrity(`The backup's SHA-256 is ${actual}, its manifest says ${expected}`, {
            expected,
            actual,
          }),
        )
        return
      }
      done(null, held)
    },
  })
}

const queryOf =
  (client: pg.Client): Query =>
  async <R>(text: string, params: readonly unknown[]) =>
    (await client.query(text, [...params])).rows as R[]

/** Creates the database of `url` when it does not exist; resolves to whether it did. */
async function ensureDatabase(url: string): Promise<boolean> {
  try {
    await withClient(url, async () => {})
    return false
  } catch (error) {
    if ((error as { code?: string }).code !== '3D000') throw error
  }
  await onMaintenanceDatabase(url, (client) =>
    client.query(`CREATE DATABASE ${quoteIdentifier(databaseNameOf(url))}`),
  )
  return true
}

async function dropDatabase(url: string): Promise<void> {
  await onMaintenanceDatabase(url, (client) =>
    client.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(databaseNameOf(url))} WITH (FORCE)`),
  ).catch(() => {})
}

async function restoreServer(
  context: RestoreContext,
  manifest: BackupInfo,
  options: RestoreOptions,
): Promise<Omit<RestoreResult, 'key' | 'durationMs'>> {
  const target = options.into ?? context.databaseUrl
  if (!target) throw new ConfigError('restore needs into: the URL of a new or empty database')
  if (!isPostgresUrl(target))
    throw new StratumError(
      'UNSUPPORTED',
      'restore: this is a backup of a PostgreSQL server (pg_dump); it restores into a postgres:// URL of a new or empty database, not a directory',
    )
  const created = await ensureDatabase(target)
  try {
    const { major, existing } = await withClient(target, async (client) => {
      const [row] = (await client.query(`SELECT current_setting('server_version_num') AS num`)).rows
      const counts = await countTableRows(queryOf(client))
      return { major: Math.floor(Number(row.num) / 10_000), existing: Object.keys(counts) }
    })
    if (existing.length > 0)
      throw new StratumError(
        'CONFLICT',
        `restore: database ${databaseNameOf(target)} is not empty (${existing.length} tables, such as ${existing[0]}); restore into a new or empty database`,
        { details: { tables: existing.length } },
      )
    const pgRestore = await findPgTool('pg_restore', major, context.settings.pgBinDir)
    const restore = runPgTool(
      pgRestore,
      [
        '--no-owner',
        '--no-privileges',
        '--exit-on-error',
        '--single-transaction',
        '--no-password',
        '--dbname',
        databaseNameOf(target),
      ],
      target,
      { stdin: 'pipe', stdout: 'ignore' },
    )
    const { child, exited } = restore
    const source = await context.blobs.getStream(manifest.key)
    const verify = verifyingStream(manifest.sha256, (bytes) =>
      options.onProgress?.({ phase: 'download', bytes, totalBytes: manifest.sizeBytes }),
    )
    const fed = pipeline(source, verify, child.stdin!).catch((error: unknown) => {
      child.kill('SIGTERM')
      throw error
    })
    const [feeding, code] = await Promise.allSettled([fed, exited])
    if (feeding.status === 'rejected') throw feeding.reason
    if (code.status === 'rejected') throw code.reason
    if (code.value !== 0) throw restore.failure(code.value)
    const tables = await withClient(target, (client) => countTableRows(queryOf(client)))
    const mismatches = countMismatches(manifest.tables, tables)
    if (mismatches.length > 0)
      throw integrity(`Restored row counts differ from the backup's: ${mismatches.join('; ')}`, {
        mismatches,
      })
    return { into: redactSecrets(target), created, tables }
  } catch (error) {
    if (created) await dropDatabase(target)
    throw error
  }
}

async function restoreEmbedded(
  context: RestoreContext,
  manifest: BackupInfo,
  options: RestoreOptions,
): Promise<Omit<RestoreResult, 'key' | 'durationMs'>> {
  const dir = options.into
  if (!dir) throw new ConfigError('restore of a PGlite backup needs into: a new or empty directory')
  // Checked before anything is touched: a URL would otherwise become a directory of that
  // name, password and all.
  if (URL_SCHEME.test(dir))
    throw new StratumError(
      'UNSUPPORTED',
      `restore: this is a backup of the embedded database (a PGlite data directory); it restores into a directory, not into ${redactSecrets(clip(dir))}. To move the data to a server, open a data layer on the server and copy the rows`,
    )
  const entries = await readdir(dir).catch(() => undefined)
  if (entries && entries.length > 0)
    throw new StratumError(
      'CONFLICT',
      `restore: directory ${dir} is not empty; restore into a new or empty directory`,
    )
  const tarball = await context.blobs.get(manifest.key)
  options.onProgress?.({
    phase: 'download',
    bytes: tarball.byteLength,
    totalBytes: manifest.sizeBytes,
  })
  const actual = createHash('sha256').update(tarball).digest('hex')
  if (actual !== manifest.sha256)
    throw integrity(`The backup's SHA-256 is ${actual}, its manifest says ${manifest.sha256}`, {
      expected: manifest.sha256,
      actual,
    })
  await mkdir(dir, { recursive: true })
  try {
    const restored = new PGlite({
      dataDir: dir,
      loadDataDir: new Blob([tarball]),
      extensions: { vector },
    })
    await restored.waitReady
    try {
      const tables = await countTableRows(
        async (text, params) => (await restored.query(text, [...params])).rows as never,
      )
      const mismatches = countMismatches(manifest.tables, tables)
      if (mismatches.length > 0)
        throw integrity(`Restored row counts differ from the backup's: ${mismatches.join('; ')}`, {
          mismatches,
        })
      return { into: dir, created: entries === undefined, tables }
    } finally {
      await restored.close()
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true })
    if (entries) await mkdir(dir, { recursive: true })
    throw error
  }
}

const URL_SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i

function isPostgresUrl(target: string): boolean {
  return /^postgres(ql)?:\/\//i.test(target)
}

/**
 * Restores the backup `key` into a new or empty database (or directory, for PGlite),
 * checking its SHA-256 before the restore can commit and its row counts after.
 * @internal
 */
export async function restoreBackup(
  context: RestoreContext,
  key: string,
  options: RestoreOptions = {},
): Promise<RestoreResult> {
  const started = performance.now()
  const manifest = await readManifest(context.blobs, key)
  const result =
    manifest.format === 'pglite-datadir-tar-gz'
      ? await restoreEmbedded(context, manifest, options)
      : await restoreServer(context, manifest, options)
  return { key: manifest.key, ...result, durationMs: Math.round(performance.now() - started) }
}
