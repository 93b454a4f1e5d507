import { randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AdminConnection } from '../db/admin-connection.js'
import type { DatabaseConnection } from '../db/connection.js'
import {
  applyMigrations,
  type MigrateResult,
  type MigrationSet,
  readMigrationStatus,
} from '../db/migrator.js'
import {
  databaseNameOf,
  onMaintenanceDatabase,
  quoteIdentifier,
  withDatabase,
} from '../db/server-admin.js'
import { StratumError } from '../errors.js'
import type { BackupInfo } from './backup.js'
import type { RestoreOptions, RestoreResult } from './restore.js'

/** One step of a verified migration, as it is reported. */
export interface MigrateStep {
  readonly step: 'backup' | 'copy' | 'verify' | 'apply'
  readonly ms: number
  /** What the step did: the backup key, how the copy was made, the migrations applied. */
  readonly detail: string
}

/** What `migrate({ verify: true })` returns: the migrations applied and each step. */
export interface VerifiedMigrateResult extends MigrateResult {
  readonly steps: readonly MigrateStep[]
}

/** What a verified migration needs from the data layer. @internal */
export interface VerifiedMigrateContext {
  readonly admin: AdminConnection
  readonly sets: readonly MigrationSet[]
  readonly backup: () => Promise<BackupInfo>
  readonly restore: (key: string, options: RestoreOptions) => Promise<RestoreResult>
  /** Opens a connection on a copy (a server URL or a PGlite directory). */
  readonly open: (target: { url: string } | { dir: string }) => Promise<DatabaseConnection>
  readonly onStep?: (step: MigrateStep) => void
}

const onMaintenance = (url: string, text: string) =>
  onMaintenanceDatabase(url, async (client) => {
    await client.query(text)
  })

/**
 * Applies pending migrations the careful way: a backup first; then the migrations on a
 * throwaway copy (`CREATE DATABASE ... TEMPLATE` when nobody else is connected, else a
 * restore of that backup; a directory restore on PGlite); only if they all succeed there,
 * on the real database. A failure on the copy stops before the real database is touched.
 * @internal
 */
export async function verifiedMigrate(
  context: VerifiedMigrateContext,
): Promise<VerifiedMigrateResult> {
  const steps: MigrateStep[] = []
  const record = (step: MigrateStep['step'], started: number, detail: string) => {
    const done = { step, ms: Math.round(performance.now() - started), detail }
    steps.push(done)
    context.onStep?.(done)
  }
  const { pending } = await readMigrationStatus(context.admin, context.sets)
  if (pending.length === 0) return { applied: [], steps }

  let started = performance.now()
  const backup = await context.backup()
  record('backup', started, backup.key)

  started = performance.now()
  let target: { url: string } | { dir: string }
  let dropCopy: () => Promise<void>
  if (context.admin.kind === 'postgres') {
    const source = context.admin.url!
    const name = `stratum_verify_${randomUUID().replace(/-/g, '').slice(0, 12)}`
    const copy = withDatabase(source, name)
    let method = 'template copy'
    try {
      await onMaintenance(
        source,
        `CREATE DATABASE ${quoteIdentifier(name)} TEMPLATE ${quoteIdentifier(databaseNameOf(source))}`,
      )
    } catch {
      // 55006: others are connected to the source (a live database always has some).
      method = 'restore of the backup'
      await context.restore(backup.key, { into: copy })
    }
    target = { url: copy }
    dropCopy = () =>
      onMaintenance(source, `DROP DATABASE IF EXISTS ${quoteIdentifier(name)} WITH (FORCE)`)
    record('copy', started, `${method} into ${name}`)
  } else {
    const parent = await mkdtemp(join(tmpdir(), 'stratum-verify-'))
    const dir = join(parent, 'copy')
    await context.restore(backup.key, { into: dir })
    target = { dir }
    dropCopy = () => rm(parent, { recursive: true, force: true })
    record('copy', started, `restore of the backup into ${dir}`)
  }

  started = performance.now()
  try {
    const copy = await context.open(target)
    try {
      const { applied } = await applyMigrations(copy, context.sets)
      record('verify', started, `${applied.length} migration(s) applied to the copy`)
    } finally {
      await copy.close()
    }
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    throw new StratumError(
      'DATABASE',
      `Migrations failed on a copy of the database; the real database was not touched (backup ${backup.key}): ${reason}`,
      { cause: error, details: { step: 'verify', backup: backup.key } },
    )
  } finally {
    await dropCopy().catch(() => {})
  }

  started = performance.now()
  const result = await applyMigrations(context.admin, context.sets)
  record('apply', started, result.applied.map((m) => `${m.set}/${m.tag}`).join(', '))
  return { ...result, steps }
}
