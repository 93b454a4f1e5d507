import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { ConfigError, StratumError } from '../errors.js'

const run = promisify(execFile)

/** The major version of a `pg_dump --version` line (`pg_dump (PostgreSQL) 15.20 (Debian ...)`). */
function majorOf(versionLine: string): number | undefined {
  const match = /\(PostgreSQL\)\s+(\d+)/.exec(versionLine)
  return match ? Number(match[1]) : undefined
}

async function versionOf(binary: string): Promise<number | undefined> {
  try {
    const { stdout } = await run(binary, ['--version'])
    return majorOf(stdout)
  } catch {
    return undefined
  }
}

/**
 * Finds `tool` (pg_dump or pg_restore) able to work with a server of `serverMajor`: in
 * `binDir` when given, else Debian's `/usr/lib/postgresql/<major>/bin`, else on the PATH.
 * A tool older than the server cannot read its catalogs; a newer one can. `CONFIG` when
 * none fits, saying what to install.
 * @internal
 */
export async function findPgTool(
  tool: 'pg_dump' | 'pg_restore',
  serverMajor: number,
  binDir?: string,
): Promise<string> {
  const candidates = binDir
    ? [join(binDir, tool)]
    : [
        ...[serverMajor, serverMajor + 1, serverMajor + 2, serverMajor + 3].map((major) =>
          join('/usr/lib/postgresql', String(major), 'bin', tool),
        ),
        tool,
      ]
  const seen: string[] = []
  for (const candidate of candidates) {
    if (candidate.includes('/') && !existsSync(candidate)) continue
    const major = await versionOf(candidate)
    if (major === undefined) continue
    seen.push(`${candidate} (${major})`)
    if (major >= serverMajor) return candidate
  }
  throw new ConfigError(
    `${tool} for PostgreSQL ${serverMajor} or newer was not found` +
      (seen.length ? ` (found ${seen.join(', ')})` : '') +
      `; install postgresql-client-${serverMajor} or set backups.pgBinDir (PG_BIN_DIR)`,
  )
}

/**
 * Environment for pg_dump / pg_restore that reaches `url`: credentials go in PG*
 * variables, never on the command line (where `ps` would show them).
 * @internal
 */
export function pgEnvironment(url: string): NodeJS.ProcessEnv {
  const parsed = new URL(url)
  const env: NodeJS.ProcessEnv = { ...process.env }
  env.PGHOST = decodeURIComponent(parsed.hostname || 'localhost')
  env.PGPORT = parsed.port || '5432'
  if (parsed.username) env.PGUSER = decodeURIComponent(parsed.username)
  if (parsed.password) env.PGPASSWORD = decodeURIComponent(parsed.password)
  env.PGDATABASE = decodeURIComponent(parsed.pathname.replace(/^\//, '') || 'postgres')
  const sslmode = parsed.searchParams.get('sslmode')
  if (sslmode) env.PGSSLMODE = sslmode
  return env
}

/** Turns a failed pg_dump / pg_restore into a `DATABASE` error with its last lines. @internal */
export function toolFailed(tool: string, exitCode: number | null, stderr: string): StratumError {
  const lines = stderr.trim().split('\n').slice(-5).join(' | ')
  return new StratumError('DATABASE', `${tool} failed (exit ${exitCode}): ${lines}`, {
    details: { tool, exitCode },
  })
}

/** A running pg_dump / pg_restore: its process, its exit, and what it said on stderr. @internal */
export interface RunningTool<C extends ChildProcess = ChildProcess> {
  readonly child: C
  /** Resolves to the exit code when the process has closed its streams. */
  readonly exited: Promise<number | null>
  /** A `DATABASE` error with the tool's last stderr lines when it exited non-zero. */
  failure(code: number | null): StratumError
}

/**
 * Spawns a Postgres client tool against `url` (credentials in the environment), with
 * stdout and stdin as `stdio` says and stderr collected for the error message.
 * @internal
 */
export function runPgTool(
  binary: string,
  args: readonly string[],
  url: string,
  stdio: { stdin: 'pipe' | 'ignore'; stdout: 'pipe' | 'ignore' },
): RunningTool {
  const child = spawn(binary, [...args], {
    env: pgEnvironment(url),
    stdio: [stdio.stdin, stdio.stdout, 'pipe'],
  })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (code) => resolve(code))
  })
  const tool = binary.split('/').at(-1) ?? binary
  return { child, exited, failure: (code) => toolFailed(tool, code, stderr) }
}
