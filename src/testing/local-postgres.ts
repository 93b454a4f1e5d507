import { execFile } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { freePort } from './free-port.js'
import { postgresUser } from './postgres-user.js'
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

/** A local PostgreSQL cluster started for tests, which a test may also halt and start again. @internal */
export interface LocalPostgres extends RunningService {
  readonly port: number
  /** Stops the server (fast shutdown) and keeps its data. */
  halt(): Promise<void>
  /** Starts a halted server again on the same port. */
  resume(): Promise<void>
}

type Exec = (file: string, args: string[]) => Promise<{ stdout: string }>

/** The binaries, a temp directory owned by the user the server runs as, and a runner. */
async function prepareCluster(prefix: string): Promise<{ bin: string; dir: string; exec: Exec }> {
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
  const dir = await mkdtemp(join(tmpdir(), prefix))
  const user = await postgresUser()
  await user.own(dir)
  const [first, ...rest] = user.prefix
  const exec: Exec = (file, args) =>
    first ? run(first, [...rest, file, ...args]) : run(file, args)
  return { bin, dir, exec }
}

/** Starts the cluster in `dir/data` on `port`; returns its handle. */
async function startCluster(
  cluster: { bin: string; dir: string; exec: Exec },
  port: number,
  label: string,
): Promise<LocalPostgres> {
  const { bin, dir, exec } = cluster
  const dataDir = join(dir, 'data')
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
  const start = async () => {
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
  }
  const stop = (mode: 'fast' | 'immediate') =>
    exec(join(bin, 'pg_ctl'), ['-D', dataDir, '-m', mode, '-w', 'stop']).then(
      () => {},
      () => {},
    )
  await start()
  const { stdout: version } = await run(join(bin, 'postgres'), ['--version'])
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    source: 'local',
    description: `${version.trim()} on 127.0.0.1:${port} (local binaries${label})`,
    port,
    halt: () => stop('fast'),
    resume: start,
    async stop() {
      await stop('immediate')
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/**
 * Starts a throwaway PostgreSQL cluster on a free loopback port in a temp directory,
 * tuned for tests (no fsync). As root, initdb and the server run as the `postgres` user,
 * since Postgres refuses to run as root.
 * @internal
 */
export async function startLocalPostgres(): Promise<LocalPostgres> {
  const cluster = await prepareCluster('stratum-pg-')
  await cluster.exec(join(cluster.bin, 'initdb'), [
    '-D',
    join(cluster.dir, 'data'),
    '-U',
    'postgres',
    '--auth=trust',
    '--encoding=UTF8',
    '--no-locale',
    '-N',
  ])
  return startCluster(cluster, await freePort(), '')
}

/**
 * Starts a streaming replica of the local test server at `primaryUrl` (trust auth, as
 * {@link startLocalPostgres} sets up): `pg_basebackup -R` into a temp directory, then a
 * hot standby on a free port.
 * @internal
 */
export async function startLocalReplica(primaryUrl: string): Promise<LocalPostgres> {
  const primary = new URL(primaryUrl)
  const cluster = await prepareCluster('stratum-pg-replica-')
  await cluster.exec(join(cluster.bin, 'pg_basebackup'), [
    '-h',
    primary.hostname,
    '-p',
    primary.port || '5432',
    '-U',
    decodeURIComponent(primary.username || 'postgres'),
    '-D',
    join(cluster.dir, 'data'),
    '-R',
    '-X',
    'stream',
    '-c',
    'fast',
  ])
  return startCluster(cluster, await freePort(), `, streaming replica of port ${primary.port}`)
}
