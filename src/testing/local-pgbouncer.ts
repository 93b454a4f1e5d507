import { execFile, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'
import { childService } from './child-service.js'
import { freePort } from './free-port.js'
import { postgresUser } from './postgres-user.js'
import type { RunningService } from './running-service.js'

const run = promisify(execFile)

/** Where Debian's package puts the binary. */
const PGBOUNCER_BINARIES = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer']

/** The pgbouncer binary on this machine, if any. @internal */
export function findPgBouncer(): string | undefined {
  return PGBOUNCER_BINARIES.find((path) => existsSync(path))
}

async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 })
  client.on('error', () => {})
  try {
    await client.connect()
    await client.query('SELECT 1')
    return true
  } catch {
    return false
  } finally {
    await client.end().catch(() => {})
  }
}

/**
 * Starts PgBouncer in transaction pooling mode on a free loopback port, in front of the
 * Postgres server at `postgresUrl` (any database name passes through; trust auth, as the
 * local test server has). The URL it returns names the same database as `postgresUrl`.
 * As root it runs as the `postgres` user, since PgBouncer refuses to run as root.
 * @internal
 */
export async function startLocalPgBouncer(postgresUrl: string): Promise<RunningService> {
  const binary = findPgBouncer()
  if (!binary)
    throw new Error('pgbouncer not found (run scripts/install-test-services.sh: apt pgbouncer)')
  const target = new URL(postgresUrl)
  const user = decodeURIComponent(target.username || 'postgres')
  const dir = await mkdtemp(join(tmpdir(), 'stratum-pgbouncer-'))
  const port = await freePort()
  const password = decodeURIComponent(target.password)
  await writeFile(join(dir, 'userlist.txt'), `"${user}" "${password}"\n`)
  await writeFile(
    join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `* = host=${target.hostname} port=${target.port || 5432}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      `auth_type = ${password ? 'plain' : 'trust'}`,
      `auth_file = ${join(dir, 'userlist.txt')}`,
      'pool_mode = transaction',
      // The admin console (database `pgbouncer`) answers SHOW CLIENTS / SHOW POOLS.
      `admin_users = ${user}`,
      'max_client_conn = 2000',
      'default_pool_size = 40',
      // A dropped test database leaves no server connection behind for long.
      'server_idle_timeout = 5',
      'server_check_delay = 0',
      // pg sends these as startup parameters; PgBouncer refuses unknown ones otherwise.
      'ignore_startup_parameters = extra_float_digits,statement_timeout,options',
      `logfile = ${join(dir, 'pgbouncer.log')}`,
      '',
    ].join('\n'),
  )
  const runAs = await postgresUser()
  await runAs.own(dir, join(dir, 'userlist.txt'), join(dir, 'pgbouncer.ini'))
  const [first, ...rest] = [...runAs.prefix, binary, join(dir, 'pgbouncer.ini')]
  const child = spawn(first!, rest, { stdio: 'ignore' })
  const service = childService(child, dir)
  const url = new URL(postgresUrl)
  url.hostname = '127.0.0.1'
  url.port = String(port)
  await service.waitUntilReady(
    () => answers(url.toString()),
    10_000,
    `pgbouncer did not start (see ${join(dir, 'pgbouncer.log')})`,
  )
  const { stdout: version } = await run(binary, ['--version'])
  return {
    url: url.toString(),
    source: 'local',
    description: `${version.split('\n')[0]!.trim()} (transaction pooling) on 127.0.0.1:${port}`,
    ...(child.pid ? { pid: child.pid } : {}),
    stop: () => service.stop(),
  }
}
