import { sql } from 'drizzle-orm'
import type { HealthReport } from '../data-layer/health.js'
import type { DataLayer } from '../data-layer/types.js'
import { ConfigError, isStratumError } from '../errors.js'
import { EXIT, type Output } from './output.js'
import { indexBar, partitionBar, transferBar } from './progress.js'

const mib = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MiB`

async function rows<R>(data: DataLayer, text: string): Promise<R[]> {
  return (await data.db.execute(sql.raw(text))).rows as R[]
}

/** `stratum migrate [--dry-run | --verify]`: applies pending migrations, or lists them. */
export async function migrateCommand(
  data: DataLayer,
  output: Output,
  options: { dryRun?: boolean; verify?: boolean },
) {
  if (options.dryRun) {
    const { pending } = await data.migrationStatus()
    const result = { dryRun: true, pending: pending.map((m) => `${m.set}/${m.tag}`) }
    output.result(result, (r) =>
      r.pending.length === 0
        ? ['Up to date: no pending migrations.']
        : [`Would apply ${r.pending.length} migration(s):`, ...r.pending.map((m) => `  ${m}`)],
    )
    return EXIT.ok
  }
  const { applied, steps } = await data.migrate({
    verify: Boolean(options.verify),
    onStep: (s) => output.note(`  ${s.step}: ${s.detail} (${s.ms} ms)`),
  })
  const result = {
    dryRun: false,
    applied: applied.map((m) => `${m.set}/${m.tag}`),
    ...(steps ? { steps } : {}),
  }
  output.result(result, (r) =>
    r.applied.length === 0
      ? ['Up to date: nothing to apply.']
      : [`Applied ${r.applied.length} migration(s):`, ...r.applied.map((m) => `  ${m}`)],
  )
  return EXIT.ok
}

/** `stratum status`: migrations, extensions, indexes. */
export async function statusCommand(data: DataLayer, output: Output) {
  const migrations = await data.migrationStatus()
  const extensions = await rows<{ name: string; version: string }>(
    data,
    'SELECT extname AS name, extversion AS version FROM pg_extension ORDER BY 1',
  )
  const indexes = await rows<{
    table: string
    name: string
    definition: string
    bytes: string | number
  }>(
    data,
    `SELECT i.tablename AS table, i.indexname AS name, i.indexdef AS definition,
            pg_relation_size(format('%I.%I', i.schemaname, i.indexname)::regclass) AS bytes
       FROM pg_indexes i WHERE i.schemaname = 'public' ORDER BY 1, 2`,
  )
  const result = {
    backend: data.backend,
    embeddingDimensions: data.embeddingDimensions,
    migrations: {
      applied: migrations.applied.map((m) => ({
        name: `${m.set}/${m.tag}`,
        appliedAt: m.appliedAt,
      })),
      pending: migrations.pending.map((m) => `${m.set}/${m.tag}`),
    },
    extensions,
    indexes: indexes.map((i) => ({ ...i, bytes: Number(i.bytes) })),
  }
  output.result(result, (r) => [
    `Backend: ${r.backend} (embeddings: ${r.embeddingDimensions} dimensions)`,
    `Migrations: ${r.migrations.applied.length} applied, ${r.migrations.pending.length} pending`,
    ...r.migrations.pending.map((m) => `  pending ${m}`),
    `Extensions: ${r.extensions.map((e) => `${e.name} ${e.version}`).join(', ')}`,
    `Indexes (${r.indexes.length}):`,
    ...r.indexes.map((i) => `  ${i.table}.${i.name} (${mib(i.bytes)})`),
  ])
  return EXIT.ok
}

/** `stratum health`: exit 0 ok, 3 degraded, 4 down. */
export async function healthCommand(data: DataLayer, output: Output) {
  const report: HealthReport = await data.health()
  output.result(report, (r) => [
    `Status: ${r.status}`,
    ...Object.entries(r.parts).map(
      ([name, part]) =>
        `  ${name}: ${part.status} (${'backend' in part ? `${part.backend}, ` : ''}${part.latencyMs.toFixed(1)} ms)` +
        (part.error ? ` ${part.error.code}: ${part.error.message}` : ''),
    ),
  ])
  return report.status === 'ok' ? EXIT.ok : report.status === 'degraded' ? EXIT.degraded : EXIT.down
}

/**
 * `stratum health` when the data layer cannot even open because the database is
 * unreachable: that is a `down` report (exit 4), not a failure of the command.
 */
export function databaseDown(error: unknown, output: Output): number | undefined {
  if (!isStratumError(error) || !['UNAVAILABLE', 'TIMEOUT'].includes(error.code)) return undefined
  const report = {
    status: 'down' as const,
    checkedAt: new Date(),
    error: { code: error.code, message: error.message },
  }
  output.result(report, (r) => [`Status: down`, `  database: ${r.error.code}: ${r.error.message}`])
  return EXIT.down
}

/** `stratum backup`: one backup, with a progress bar on a terminal. */
export async function backupCommand(data: DataLayer, output: Output) {
  const bar = transferBar(!output.json)
  try {
    const info = await data.backup({ onProgress: (p) => bar.update(p) })
    bar.stop()
    output.result(info, (i) => [
      `Backup ${i.key}: ${mib(i.sizeBytes)} in ${(i.durationMs / 1000).toFixed(1)} s`,
      `  sha256 ${i.sha256}`,
      `  ${Object.values(i.tables).reduce((a, b) => a + b, 0)} rows in ${Object.keys(i.tables).length} tables; migration head ${i.migrationHead ?? 'none'}`,
      ...(i.removed.length
        ? [`  retention removed ${i.removed.length}: ${i.removed.join(', ')}`]
        : []),
    ])
    return EXIT.ok
  } finally {
    bar.stop()
  }
}

/** `stratum backups`: the finished backups, newest first. */
export async function backupsCommand(data: DataLayer, output: Output) {
  const list = await data.backups()
  output.result(list, (l) =>
    l.length === 0
      ? ['No backups.']
      : l.map((b) => `${b.createdAt.toISOString()}  ${mib(b.sizeBytes).padStart(10)}  ${b.key}`),
  )
  return EXIT.ok
}

/** `stratum restore <key> [--into <url or directory>]`. */
export async function restoreCommand(data: DataLayer, output: Output, key: string, into?: string) {
  const bar = transferBar(!output.json)
  try {
    const result = await data.restore(key, {
      ...(into ? { into } : {}),
      onProgress: (p) => bar.update(p),
    })
    bar.stop()
    output.result(result, (r) => [
      `Restored ${r.key} into ${r.into}${r.created ? ' (created)' : ''} in ${(r.durationMs / 1000).toFixed(1)} s`,
      `  row counts match the backup in all ${Object.keys(r.tables).length} tables`,
    ])
    return EXIT.ok
  } finally {
    bar.stop()
  }
}

/** Options of `stratum roles`. */
export interface RolesCommandOptions {
  apply?: boolean
  appRole?: string
  readonlyRole?: string
  appPasswordEnv?: string
  readonlyPasswordEnv?: string
}

/**
 * `stratum roles [--apply]`: prints (or applies) the statements that create the app and
 * read-only roles. Passwords come from environment variables named by the options,
 * never from the command line.
 */
export async function rolesCommand(data: DataLayer, output: Output, options: RolesCommandOptions) {
  const password = (variable: string | undefined) => {
    if (!variable) return {}
    const value = process.env[variable]
    if (!value) throw new ConfigError(`${variable} (named by a --*-password-env option) is not set`)
    return { password: value }
  }
  const plan = await data.roles({
    apply: Boolean(options.apply),
    app: { name: options.appRole ?? 'stratum_app', ...password(options.appPasswordEnv) },
    readonly: {
      name: options.readonlyRole ?? 'stratum_readonly',
      ...password(options.readonlyPasswordEnv),
    },
  })
  output.result(plan, (p) => [
    p.applied
      ? `Applied roles ${p.app} (DML only) and ${p.readonly} (read only):`
      : `Would apply (run with --apply):`,
    ...p.statements.map((s) => `  ${s};`),
  ])
  return EXIT.ok
}

/** `stratum doctor`: the maintenance report; exit 0 (warnings are findings, not failures). */
export async function doctorCommand(data: DataLayer, output: Output) {
  const report = await data.doctor()
  output.result(report, (r) => [
    `Doctor: ${r.warnings} warning(s)`,
    ...r.checks.map((c) => `  [${c.status === 'warn' ? 'WARN' : ' ok '}] ${c.name}: ${c.summary}`),
  ])
  return EXIT.ok
}

/** Options of `stratum index`. */
export interface IndexCommandOptions {
  type?: 'hnsw' | 'ivfflat'
  metric?: 'cosine' | 'l2' | 'inner_product'
  m?: string
  efConstruction?: string
  lists?: string
}

/** `stratum index`: builds the vector index (if missing), with a progress bar on a terminal. */
/** Options of `stratum partition`. @internal */
export interface PartitionCommandOptions {
  batchSize?: string
  keepOld?: boolean
}

/** `stratum partition <count>`: chat_vectors into hash partitions, online. @internal */
export async function partitionCommand(
  data: DataLayer,
  output: Output,
  count: string,
  options: PartitionCommandOptions,
  configured?: string,
) {
  const whole = (value: string, name: string) => {
    if (!/^\d+$/.test(value)) throw new ConfigError(`${name} must be a whole number`)
    return Number(value)
  }
  if (configured !== undefined && configured !== '' && configured !== count) {
    throw new ConfigError(
      `STRATUM_EMBEDDING_PARTITIONS is ${configured} but the command asks for ${count} partitions`,
    )
  }
  const bar = partitionBar(!output.json)
  try {
    const report = await data.vectors.partition({
      partitions: whole(count, 'the partition count'),
      ...(options.batchSize === undefined
        ? {}
        : { batchSize: whole(options.batchSize, '--batch-size') }),
      ...(options.keepOld ? { keepOld: true } : {}),
      onProgress: (p) => bar.update(p),
    })
    bar.stop()
    output.result(report, (r) => [
      r.converted
        ? `chat_vectors is now ${r.partitions} hash partitions by user_id (${r.rows} rows)${r.oldTable ? `; the old table is ${r.oldTable}` : ''}. Set STRATUM_EMBEDDING_PARTITIONS=${r.partitions} for the applications.`
        : `chat_vectors already has ${r.partitions} hash partitions.`,
    ])
    return EXIT.ok
  } finally {
    bar.stop()
  }
}

export async function indexCommand(data: DataLayer, output: Output, options: IndexCommandOptions) {
  const number = (value: string | undefined, name: string) => {
    if (value === undefined) return undefined
    if (!/^\d+$/.test(value)) throw new ConfigError(`--${name} must be a whole number`)
    return Number(value)
  }
  const bar = indexBar(!output.json)
  try {
    const m = number(options.m, 'm')
    const efConstruction = number(options.efConstruction, 'ef-construction')
    const lists = number(options.lists, 'lists')
    const result = await data.vectors.ensureIndex({
      ...(options.type ? { type: options.type } : {}),
      ...(options.metric ? { metric: options.metric } : {}),
      ...(m === undefined ? {} : { m }),
      ...(efConstruction === undefined ? {} : { efConstruction }),
      ...(lists === undefined ? {} : { lists }),
      onProgress: (p) => bar.update(p),
    })
    bar.stop()
    output.result(result, (r) => [
      r.created ? `Built index ${r.name}.` : `Index ${r.name} already exists.`,
    ])
    return EXIT.ok
  } finally {
    bar.stop()
  }
}
