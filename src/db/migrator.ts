import { StratumError } from '../errors.js'
import type { DatabaseConnection, SqlSession } from './connection.js'
import type { MigrationFile } from './migration-files.js'

/** A named, ordered set of migrations with the placeholders its SQL may contain. */
export interface MigrationSet {
  /** Unique name; the core set is `core`. */
  readonly name: string
  readonly migrations: readonly MigrationFile[]
  /** Placeholder -> value, substituted into the SQL when it is applied. */
  readonly parameters?: Readonly<Record<string, string>>
  /** The table recording this set's migrations (default `stratum_migrations`). */
  readonly table?: string
  /**
   * Exact statement text replaced when applied (after the parameters), for the library's
   * own configuration-dependent DDL; the recorded hash stays the shipped file's.
   */
  readonly rewrites?: readonly MigrationRewrite[]
}

/**
 * Text of a shipped statement replaced when it is applied. `to` may hold drizzle-kit's
 * `--> statement-breakpoint` markers: each part then runs as a statement of its own.
 */
export interface MigrationRewrite {
  readonly from: string
  readonly to: string
}

/** One migration's state in {@link MigrationStatus}. */
export interface MigrationState {
  readonly set: string
  readonly tag: string
  readonly applied: boolean
  readonly appliedAt: Date | null
}

/** What `data.migrationStatus()` returns. */
export interface MigrationStatus {
  readonly applied: readonly MigrationState[]
  readonly pending: readonly MigrationState[]
}

/** What `data.migrate()` returns: the migrations it applied (none when up to date). */
export interface MigrateResult {
  readonly applied: readonly { readonly set: string; readonly tag: string }[]
}

/** Records which migrations ran (unless a set names its own table); created on first migrate. */
export const MIGRATIONS_TABLE = 'stratum_migrations'

/** What a migrations table name may be: a plain lower-case SQL identifier. */
export const MIGRATIONS_TABLE_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/

const createTable = (table: string) => `CREATE TABLE IF NOT EXISTS ${table} (
  set_name text NOT NULL,
  tag text NOT NULL,
  hash text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (set_name, tag)
)`

/** The migrations table of a set, checked (it is placed in SQL text). */
export function migrationsTableOf(set: Pick<MigrationSet, 'name' | 'table'>): string {
  const table = set.table ?? MIGRATIONS_TABLE
  if (!MIGRATIONS_TABLE_PATTERN.test(table))
    throw new StratumError(
      'CONFIG',
      `Migration set ${set.name}: table ${JSON.stringify(table)} must be a lower-case SQL identifier (a-z, 0-9, _)`,
    )
  return table
}

/** Every distinct migrations table of the sets, in order of first use. */
export function migrationTables(sets: readonly Pick<MigrationSet, 'name' | 'table'>[]): string[] {
  return [...new Set(sets.map(migrationsTableOf))]
}

interface AppliedRow {
  set_name: string
  tag: string
  hash: string
  applied_at: Date | string
}

/** Applied migrations of every table the sets use, keyed by table, set and tag. */
async function readApplied(
  session: Pick<SqlSession, 'query'>,
  sets: readonly MigrationSet[],
): Promise<Map<string, AppliedRow>> {
  const applied = new Map<string, AppliedRow>()
  for (const table of migrationTables(sets)) {
    const exists = await session.query<{ present: boolean }>(
      `SELECT to_regclass('${table}') IS NOT NULL AS present`,
    )
    if (!exists[0]?.present) continue
    const rows = await session.query<AppliedRow>(
      `SELECT set_name, tag, hash, applied_at FROM ${table}`,
    )
    for (const r of rows) applied.set(recordKey(table, r.set_name, r.tag), r)
  }
  return applied
}

const recordKey = (table: string, set: string, tag: string) => `${table}\u0000${set}\u0000${tag}`

const BREAKPOINT = '--> statement-breakpoint'

function withParameters(statement: string, set: MigrationSet): string {
  let out = statement
  for (const [token, value] of Object.entries(set.parameters ?? {}))
    out = out.split(token).join(value)
  return out
}

/** The statements one shipped statement becomes: parameters filled in, rewrites applied. */
function fill(statement: string, set: MigrationSet): string[] {
  let out = withParameters(statement, set)
  for (const { from, to } of set.rewrites ?? []) out = out.split(from).join(to)
  return out
    .split(BREAKPOINT)
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
}

/**
 * Fails when a rewrite matches no statement of its set: the DDL it stands for would
 * silently not be applied (a layout option ignored), so nothing runs instead.
 */
function checkRewrites(set: MigrationSet): void {
  const statements = set.migrations.flatMap((m) => m.statements.map((s) => withParameters(s, set)))
  for (const { from } of set.rewrites ?? []) {
    if (!statements.some((s) => s.includes(from))) {
      throw new StratumError(
        'CONFIG',
        `Migration set ${set.name}: a rewrite matches none of its statements (${JSON.stringify(from.slice(0, 60))}...)`,
      )
    }
  }
}

/**
 * Applies the pending migrations of each set, in order, each in its own transaction
 * together with its record in the set's migrations table, while holding the connection's
 * migration lock. Migrations are tracked by (set, tag), never by date, so a migration generated earlier than one
 * already applied still runs.
 * @internal
 */
export async function applyMigrations(
  connection: Pick<DatabaseConnection, 'withMigrationLock'>,
  sets: readonly MigrationSet[],
): Promise<MigrateResult> {
  for (const set of sets) checkRewrites(set)
  return connection.withMigrationLock(async (session) => {
    for (const table of migrationTables(sets)) await session.query(createTable(table))
    const applied = await readApplied(session, sets)
    const done: { set: string; tag: string }[] = []
    for (const set of sets) {
      const table = migrationsTableOf(set)
      for (const migration of set.migrations) {
        const record = applied.get(recordKey(table, set.name, migration.tag))
        if (record) {
          if (record.hash !== migration.hash) {
            throw new StratumError(
              'CONFIG',
              `Migration ${set.name}/${migration.tag} was changed after it was applied (hash differs); ` +
                'never edit an applied migration, add a new one',
            )
          }
          continue
        }
        try {
          await session.transaction(async (tx) => {
            for (const statement of migration.statements)
              for (const part of fill(statement, set)) await tx.query(part)
            await tx.query(`INSERT INTO ${table} (set_name, tag, hash) VALUES ($1, $2, $3)`, [
              set.name,
              migration.tag,
              migration.hash,
            ])
          })
        } catch (error) {
          const reason = error instanceof Error ? error.message : String(error)
          throw new StratumError(
            'DATABASE',
            `Migration ${set.name}/${migration.tag} failed and was rolled back: ${reason}`,
            {
              cause: error,
              details: { set: set.name, tag: migration.tag },
            },
          )
        }
        done.push({ set: set.name, tag: migration.tag })
      }
    }
    return { applied: done }
  })
}

/**
 * Lists applied and pending migrations of each set.
 * @internal
 */
export async function readMigrationStatus(
  connection: Pick<DatabaseConnection, 'query'>,
  sets: readonly MigrationSet[],
): Promise<MigrationStatus> {
  const applied = await readApplied(connection, sets)
  const states = sets.flatMap((set) =>
    set.migrations.map((m): MigrationState => {
      const row = applied.get(recordKey(migrationsTableOf(set), set.name, m.tag))
      return {
        set: set.name,
        tag: m.tag,
        applied: !!row,
        appliedAt: row ? new Date(row.applied_at) : null,
      }
    }),
  )
  return { applied: states.filter((s) => s.applied), pending: states.filter((s) => !s.applied) }
}
