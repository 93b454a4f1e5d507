import { mkdir } from 'node:fs/promises'
import lockfile from 'proper-lockfile'
import { StratumError } from '../errors.js'

/**
 * Takes an exclusive, process-wide lock on a database directory (a `<dir>.lock` folder
 * beside it, refreshed while held and considered stale after 10 s without refresh, so a
 * crashed process does not block the directory for ever).
 * @internal
 */
export async function lockDirectory(dir: string): Promise<() => Promise<void>> {
  await mkdir(dir, { recursive: true })
  try {
    const release = await lockfile.lock(dir, {
      lockfilePath: `${dir}.lock`,
      realpath: false,
      stale: 10_000,
      update: 2_000,
      retries: 0,
      onCompromised: () => {
        // The lock could not be refreshed (for example the disk stalled); the next open
        // of this directory by another process may then succeed. Nothing to undo here.
      },
    })
    return release
  } catch (error) {
    if ((error as { code?: string }).code === 'ELOCKED') {
      throw new StratumError(
        'LOCKED',
        `The database directory ${dir} is open in another process; close it there first (PGlite allows one process per directory)`,
        { cause: error },
      )
    }
    throw new StratumError('UNAVAILABLE', `Could not lock the database directory ${dir}`, {
      cause: error,
    })
  }
}
