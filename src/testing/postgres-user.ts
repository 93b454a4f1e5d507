import { execFile } from 'node:child_process'
import { chown } from 'node:fs/promises'
import { promisify } from 'node:util'

const run = promisify(execFile)

/**
 * How to run PostgreSQL's tools (initdb, pg_ctl, PgBouncer), which refuse to run as root:
 * as root, under `runuser -u postgres` with their files chowned to that user; otherwise as
 * the current user, unchanged.
 * @internal
 */
export interface PostgresUser {
  /** Prepended to a command line (`runuser -u postgres --`, or nothing). */
  readonly prefix: readonly string[]
  /** Hands `paths` to the user the tools run as (nothing to do when not root). */
  own(...paths: string[]): Promise<void>
}

/** See {@link PostgresUser}. @internal */
export async function postgresUser(): Promise<PostgresUser> {
  if (process.getuid?.() !== 0) return { prefix: [], own: async () => {} }
  const [{ stdout: uid }, { stdout: gid }] = await Promise.all([
    run('id', ['-u', 'postgres']),
    run('id', ['-g', 'postgres']),
  ])
  return {
    prefix: ['runuser', '-u', 'postgres', '--'],
    async own(...paths) {
      for (const path of paths) await chown(path, Number(uid.trim()), Number(gid.trim()))
    },
  }
}
