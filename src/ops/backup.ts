import { createHash, randomBytes } from 'node:crypto'
import { Transform } from 'node:stream'
import type { DatabaseConnection } from '../db/connection.js'
import { databaseNameOf } from '../db/server-admin.js'
import { ConfigError, StratumError } from '../errors.js'
import type { BlobStore } from '../storage/blob-store.js'
import { findPgTool, runPgTool } from './pg-tools.js'
import { countTableRows } from './table-counts.js'

/** Where backups go and how many are kept. */
export interface BackupSettings {
  /** Key prefix in the blob store (default `backups/`). */
  readonly prefix: string
  /** Keep at most this many (newest first). */
  readonly keep: number
  /** Delete backups older than this many days; the newest is always kept. */
  readonly maxAgeDays: number
  /** Directory of pg_dump / pg_restore, when they are not where Debian puts them. */
  readonly pgBinDir?: string | undefined
}

/** What a backup's manifest records; `backups()` returns these, newest first. */
export interface BackupInfo {
  /** The dump's key in the blob store: pass it to `restore`. */
  readonly key: string
  readonly manifestKey: string
  readonly createdAt: Date
  readonly backend: 'postgres' | 'pglite'
  /** `pg_dump-custom` (server) or `pglite-datadir-tar-gz` (embedded). */
  readonly format: 'pg_dump-custom' | 'pglite-datadir-tar-gz'
  readonly database: string
  readonly serverVersion: string
  /** The newest applied migration (`set/tag`), or null on an unmigrated database. */
  readonly migrationHead: string | null
  readonly sizeBytes: number
  readonly sha256: string
  /** Rows per table (`schema.table`) in the snapshot the dump was taken from. */
  readonly tables: Readonly<Record<string, number>>
  readonly durationMs: number
}

/** Progress of a backup or restore: bytes moved so far. */
export interface TransferProgress {
  readonly phase: 'dump' | 'upload' | 'download' | 'restore'
  readonly bytes: number
  readonly totalBytes?: number
}

/** What the backup needs from the data layer. @internal */
export interface BackupContext {
  readonly connection: Pick<
    DatabaseConnection,
    'kind' | 'query' | 'withReadTransaction' | 'dumpDataDir'
  >
  readonly blobs: BlobStore
  readonly databaseUrl?: string | undefined
  readonly settings: BackupSettings
  readonly migrationHead: () => Promise<string | null>
}

const MANIFEST_SUFFIX = '.json'

function timestamp(date: Date): string {
  return date.toISOString().replace(/[:.]/g, '-')
}

/** Hashes and counts bytes as they pass; `beforeEnd` may fail the stream at its end. */
function hashingStream(beforeEnd: () => Promise<void>) {
  const hash = createHash('sha256')
  let bytes = 0
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk)
      bytes += chunk.byteLength
      done(null, chunk)
    },
    flush(done) {
      beforeEnd().then(() => done(), done)
    },
  })
  return { stream, digest: () => hash.digest('hex'), bytes: () => bytes }
}

async function serverMajor(
  connection: Pick<DatabaseConnection, 'query'>,
): Promise<{ major: number; version: string }> {
  const [row] = await connection.query<{ num: string; version: string }>(
    `SELECT current_setting('server_version_num') AS num, current_setting('server_version') AS version`,
  )
  return { major: Math.floor(Number(row!.num) / 10_000), version: row!.version }
}

/**
 * Streams `pg_dump --format=custom` (compressed by pg_dump) of a consistent snapshot into
 * the blob store: the row counts in the manifest come from the same exported snapshot the
 * dump reads. A failing pg_dump fails the upload, so no partial dump is left.
 */
async function dumpServer(
  context: BackupContext,
  key: string,
  onProgress?: (p: TransferProgress) => void,
) {
  const { connection, blobs, settings, databaseUrl } = context
  if (!databaseUrl)
    throw new ConfigError('backups of a server need databaseUrl (pg_dump connects by URL)')
  const { major, version } = await serverMajor(connection)
  const pgDump = await findPgTool('pg_dump', major, settings.pgBinDir)
  return connection.withReadTransaction(
    'SET TRANSACTION ISOLATION LEVEL REPEATABLE READ',
    async (query) => {
      const [{ snapshot }] = (await query<{ snapshot: string }>(
        'SELECT pg_export_snapshot() AS snapshot',
        [],
      )) as [{ snapshot: string }]
      const tables = await countTableRows(query)
      const dump = runPgTool(
        pgDump,
        ['--format=custom', '--compress=6', `--snapshot=${snapshot}`, '--no-password'],
        databaseUrl,
        { stdin: 'ignore', stdout: 'pipe' },
      )
      const { child, exited } = dump
      const hashed = hashingStream(async () => {
        const code = await exited
        if (code !== 0) throw dump.failure(code)
      })
      child.stdout!.pipe(hashed.stream)
      child.stdout!.once('error', (error) => hashed.stream.destroy(error))
      try {
        await blobs.put(key, hashed.stream, {
          contentType: 'application/octet-stream',
          metadata: { format: 'pg_dump-custom', 'server-version': version.slice(0, 60) },
          onProgress: (p) => onProgress?.({ phase: 'upload', bytes: p.loaded }),
        })
      } catch (error) {
        child.kill('SIGTERM')
        const code = await exited.catch(() => null)
        if (code !== 0 && code !== null) throw dump.failure(code)
        throw error
      }
      return {
        tables,
        serverVersion: version,
        database: databaseNameOf(databaseUrl),
        sha256: hashed.digest(),
        sizeBytes: hashed.bytes(),
      }
    },
  )
}

/** PGlite: its data directory as a gzipped tarball. */
async function dumpEmbedded(
  context: BackupContext,
  key: string,
  onProgress?: (p: TransferProgress) => void,
) {
  const { connection, blobs } = context
  const tables = await countTableRows((text, params) => connection.query(text, params))
  const { version } = await serverMajor(connection)
  const tarball = Buffer.from(await (await connection.dumpDataDir!()).arrayBuffer())
  onProgress?.({ phase: 'dump', bytes: tarball.byteLength, totalBytes: tarball.byteLength })
  await blobs.put(key, tarball, {
    contentType: 'application/gzip',
    metadata: { format: 'pglite-datadir-tar-gz' },
    onProgress: (p) =>
      onProgress?.({ phase: 'upload', bytes: p.loaded, totalBytes: tarball.byteLength }),
  })
  return {
    tables,
    serverVersion: `${version} (PGlite)`,
    database: 'pglite',
    sha256: createHash('sha256').update(tarball).digest('hex'),
    sizeBytes: tarball.byteLength,
  }
}

/**
 * Takes a backup into the blob store: the dump first, then its manifest (the manifest is
 * the commit marker: a dump without one is an unfinished backup), then retention.
 * @internal
 */
export async function createBackup(
  context: BackupContext,
  options: { onProgress?: (p: TransferProgress) => void } = {},
): Promise<BackupInfo & { readonly removed: readonly string[] }> {
  const started = performance.now()
  const createdAt = new Date()
  const base = `${context.settings.prefix}${timestamp(createdAt)}-${randomBytes(3).toString('hex')}`
  const embedded = context.connection.kind === 'pglite'
  const key = `${base}${embedded ? '.tar.gz' : '.dump'}`
  const migrationHead = await context.migrationHead()
  const dumped = embedded
    ? await dumpEmbedded(context, key, options.onProgress)
    : await dumpServer(context, key, options.onProgress)
  const info: BackupInfo = {
    key,
    manifestKey: `${base}${MANIFEST_SUFFIX}`,
    createdAt,
    backend: context.connection.kind,
    format: embedded ? 'pglite-datadir-tar-gz' : 'pg_dump-custom',
    migrationHead,
    ...dumped,
    durationMs: Math.round(performance.now() - started),
  }
  await context.blobs.put(info.manifestKey, JSON.stringify(info, null, 2), {
    contentType: 'application/json',
  })
  const removed = await applyRetention(context.blobs, context.settings)
  return { ...info, removed }
}

function parseManifest(text: string): BackupInfo {
  const raw = JSON.parse(text) as BackupInfo & { createdAt: string }
  return { ...raw, createdAt: new Date(raw.createdAt) }
}

/** Every finished backup under the prefix, newest first. @internal */
export async function listBackups(blobs: BlobStore, prefix: string): Promise<BackupInfo[]> {
  const manifests: BackupInfo[] = []
  for await (const item of blobs.listAll({ prefix })) {
    if (!item.key.endsWith(MANIFEST_SUFFIX)) continue
    try {
      manifests.push(parseManifest((await blobs.get(item.key)).toString('utf8')))
    } catch (error) {
      if (error instanceof StratumError && error.code === 'NOT_FOUND') continue // deleted meanwhile
      throw error
    }
  }
  return manifests.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())
}

/** How long a dump without a manifest may stay before it counts as abandoned. */
const ABANDONED_AFTER_MS = 24 * 3600_000

/**
 * Deletes backups beyond the newest `keep` and those older than `maxAgeDays` (never the
 * newest), manifest first so a half-deleted backup is invisible; and dumps a day old that
 * never got a manifest (a crashed backup). Returns the dump keys deleted.
 * @internal
 */
export async function applyRetention(
  blobs: BlobStore,
  settings: BackupSettings,
  now = new Date(),
): Promise<string[]> {
  const backups = await listBackups(blobs, settings.prefix)
  const oldest = now.getTime() - settings.maxAgeDays * 86_400_000
  const doomed = backups.filter(
    (backup, index) => index > 0 && (index >= settings.keep || backup.createdAt.getTime() < oldest),
  )
  for (const backup of doomed) {
    await blobs.delete(backup.manifestKey)
    await blobs.delete(backup.key)
  }
  const known = new Set(backups.map((b) => b.key))
  const removed = doomed.map((b) => b.key)
  for await (const item of blobs.listAll({ prefix: settings.prefix })) {
    if (item.key.endsWith(MANIFEST_SUFFIX) || known.has(item.key)) continue
    if (item.lastModified.getTime() < now.getTime() - ABANDONED_AFTER_MS) {
      await blobs.delete(item.key)
      removed.push(item.key)
    }
  }
  return removed
}

/** The manifest of the backup `key` (its dump key or its manifest key). @internal */
export async function readManifest(blobs: BlobStore, key: string): Promise<BackupInfo> {
  const manifestKey = key.endsWith(MANIFEST_SUFFIX)
    ? key
    : key.replace(/\.(dump|tar\.gz)$/, MANIFEST_SUFFIX)
  try {
    return parseManifest((await blobs.get(manifestKey)).toString('utf8'))
  } catch (error) {
    if (error instanceof StratumError && error.code === 'NOT_FOUND')
      throw new StratumError(
        'NOT_FOUND',
        `No finished backup under ${JSON.stringify(key)} (no manifest)`,
        {
          details: { key },
        },
      )
    throw error
  }
}
