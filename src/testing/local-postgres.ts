import { execFile } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { chown, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { freePort } from './free-port.js'
import type { RunningService } from './running-service.js'

const run = promisify(execFile)

/** The newest PostgreSQL server binaries directory on this machine, if any. @internal */
export function findPostgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return undefined
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a))
  return versions[0] ? join(root, versions[0], 'bin') : undefined
}

async function uidOf(user: string): Promise<{ uid: number; gid: number }> {
  const [{ stdout: uid }, { stdout: gid }] = await Promise.all([
    run('id', ['-u', user]),
    run('id', ['-g', user]),
  ])
  return { uid: Number(uid.trim()), gid: Number(gid.trim()) }
}

/**
 * Starts a throwaway PostgreSQL cluster on a free loopback port in a temp directory,
 * tuned for tests (no fsync). As root, initdb and the server run as the `postgres` user,
 * since Postgres refuses to run as root.
 * @internal
 */
export async function startLocalPostgres(): Promise<RunningService> {
  const bin = findPostgresBinDir()
  if (!bin)
    throw new Error(
      'PostgreSQL server binaries not found under /usr/lib/postgresql (run scripts/install-test-services.sh)',
    )
  // Debian's layout: /usr/lib/postgresql/<major>/bin, /usr/share/postgresql/<major>/extension.
  const major = basename(dirname(bin))
  if (!existsSync(join('/usr/share/postgresql', major, 'extension', 'vector.control')))
    throw new Error(
      `pgvector is not installed for PostgreSQL ${major} (run scripts/install-test-services.sh)`,
    )
  const dir = await mkdtemp(join(tmpdir(), 'stratum-pg-'))
  const dataDir = join(dir, 'data')
  const asRoot = process.getuid?.() === 0
  const prefix: string[] = []
  if (asRoot) {
    const { uid, gid } = await uidOf('postgres')
    await chown(dir, uid, gid)
    prefix.push('runuser', '-u', 'postgres', '--')
  }
  const exec = (file: string, args: string[]) =>
    prefix.length ? run(prefix[0]!, [...prefix.slice(1), file, ...args]) : run(file, args)
  await exec(join(bin, 'initdb'), [
    '-D',
    dataDir,
    '-U',
    'postgres',
    '--auth=trust',
    '--encoding=UTF8',
    '--no-locale',
    '-N',
  ])
  const port = await freePort()
  const settings = [
    `-p ${port}`,
    `-k ${dir}`,
    '-c listen_addresses=127.0.0.1',
    '-c fsync=off',
    '-c synchronous_commit=off',
    '-c full_page_writes=off',
    '-c max_connections=300',
    '-c shared_buffers=256MB',
  ].join(' ')
  const logFile = join(dir, 'server.log')
  try {
    await exec(join(bin, 'pg_ctl'), [
      '-D',
      dataDir,
      '-l',
      logFile,
      '-o',
      settings,
      '-w',
      '-t',
      '60',
      'start',
    ])
  } catch (error) {
    const log = await readFile(logFile, 'utf8').catch(() => '')
    throw new Error(`PostgreSQL did not start: ${(error as Error).message}\n${log}`)
  }
  const { stdout: version } = await run(join(bin, 'postgres'), ['--version'])
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    source: 'local',
    description: `${version.trim()} on 127.0.0.1:${port} (local binaries)`,
    async stop() {
      await exec(join(bin, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', '-w', 'stop']).catch(
        () => {},
      )
      await rm(dir, { recursive: true, force: true })
    },
  }
}
