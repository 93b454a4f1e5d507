import type { SqlSession } from '../db/connection.js'
import { MIGRATIONS_TABLE } from '../db/migrator.js'
import { quoteIdentifier } from '../db/server-admin.js'
import { ValidationError } from '../errors.js'

/** One role to create or update. */
export interface RoleSpec {
  /** Lower-case letters, digits and `_`, starting with a letter or `_` (at most 63). */
  readonly name: string
  /** Sets the login password when given (never printed); without it the role cannot log in by password. */
  readonly password?: string
}

/** The two roles of `stratum roles`. */
export interface RolesOptions {
  /** Reads and writes rows (SELECT, INSERT, UPDATE, DELETE, sequences); no DDL. Default `stratum_app`. */
  readonly app?: RoleSpec
  /** Reads rows only. Default `stratum_readonly`. */
  readonly readonly?: RoleSpec
}

/** What `roles` did or would do. */
export interface RolesPlan {
  readonly app: string
  readonly readonly: string
  /** The statements, with any password shown as `'***'`. */
  readonly statements: readonly string[]
  readonly applied: boolean
}

const ROLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/

/** A string literal, as pg's escapeLiteral writes it. */
function literal(value: string): string {
  const escaped = value.replace(/'/g, "''")
  return value.includes('\\') ? `E'${escaped.replace(/\\/g, '\\\\')}'` : `'${escaped}'`
}

function check(spec: RoleSpec, path: string) {
  const issues = []
  if (!ROLE_NAME.test(spec.name))
    issues.push({
      path: `${path}.name`,
      message: 'must be lower-case a-z, 0-9 and _, starting with a letter or _',
    })
  if (spec.password !== undefined && (spec.password.length < 8 || spec.password.includes('\u0000')))
    issues.push({ path: `${path}.password`, message: 'must have at least 8 characters and no NUL' })
  if (issues.length > 0) throw new ValidationError('roles', issues)
}

/**
 * The statements that make (idempotently) an application role with only DML rights on
 * the tables and sequences of the public schema (now and later, by default privileges of
 * the role that runs migrations), read-only on the migrations tables, and a read-only role.
 * Passwords appear only when `reveal` is true; otherwise as `'***'`, for printing.
 * @internal
 */
export function roleStatements(
  database: string,
  options: RolesOptions,
  reveal: boolean,
  migrationTables: readonly string[] = [MIGRATIONS_TABLE],
) {
  const app = options.app ?? { name: 'stratum_app' }
  const readonly = options.readonly ?? { name: 'stratum_readonly' }
  check(app, 'app')
  check(readonly, 'readonly')
  if (app.name === readonly.name)
    throw new ValidationError('roles', [
      { path: 'readonly.name', message: 'must differ from app.name' },
    ])
  const statements: string[] = []
  for (const role of [app, readonly]) {
    statements.push(
      `DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ${literal(role.name)}) THEN CREATE ROLE ${quoteIdentifier(role.name)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS; END IF; END $$`,
    )
    statements.push(
      `ALTER ROLE ${quoteIdentifier(role.name)} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS` +
        (role.password === undefined
          ? ''
          : ` PASSWORD ${reveal ? literal(role.password) : "'***'"}`),
    )
    statements.push(
      `GRANT CONNECT ON DATABASE ${quoteIdentifier(database)} TO ${quoteIdentifier(role.name)}`,
    )
    statements.push(`GRANT USAGE ON SCHEMA public TO ${quoteIdentifier(role.name)}`)
    statements.push(`REVOKE CREATE ON SCHEMA public FROM ${quoteIdentifier(role.name)}`)
  }
  const a = quoteIdentifier(app.name)
  const r = quoteIdentifier(readonly.name)
  statements.push(
    `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${a}`,
    `GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ${a}`,
    `GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${r}`,
    `ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${a}`,
    `ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO ${a}`,
    `ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO ${r}`,
  )
  // Migration bookkeeping is the admin's: the app may read it (status), not change it.
  for (const table of migrationTables)
    statements.push(
      `DO $$ BEGIN IF to_regclass('public.${table}') IS NOT NULL THEN REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON public.${table} FROM ${a}; END IF; END $$`,
    )
  return { app: app.name, readonly: readonly.name, statements }
}

/**
 * Applies (or, with `apply: false`, only plans) the roles in one transaction on an admin
 * session.
 * @internal
 */
export async function applyRoles(
  session: SqlSession,
  database: string,
  options: RolesOptions,
  apply: boolean,
  migrationTables?: readonly string[],
): Promise<RolesPlan> {
  const shown = roleStatements(database, options, false, migrationTables)
  if (apply) {
    const { statements } = roleStatements(database, options, true, migrationTables)
    await session.transaction(async (tx) => {
      for (const statement of statements) await tx.query(statement)
    })
  }
  return { ...shown, applied: apply }
}
