import { execFile, spawn } from 'node:child_process'
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect } from 'node:tls'
import { promisify } from 'node:util'
import pg from 'pg'
import { childService } from '../../src/testing/child-service.js'
import { freePort } from '../../src/testing/free-port.js'
import { type LocalPostgres, startLocalPostgres } from '../../src/testing/local-postgres.js'
import { postgresUser } from '../../src/testing/postgres-user.js'

const run = promisify(execFile)

/** PEM files made for one test run with openssl: a CA, a server certificate it signed, and a CA that signed nothing. */
export interface TestCertificates {
  readonly dir: string
  readonly ca: string
  readonly otherCa: string
  readonly serverCert: string
  readonly serverKey: string
  /** File paths of the same. */
  readonly files: { ca: string; otherCa: string; serverCert: string; serverKey: string }
}

async function openssl(cwd: string, ...args: string[]): Promise<void> {
  await run('openssl', args, { cwd })
}

/**
 * Makes a private CA and a server certificate for `localhost` and 127.0.0.1 (nothing
 * else: a client that checks `db.example.com` against it must fail), plus a second CA.
 */
export async function makeCertificates(): Promise<TestCertificates> {
  const dir = await mkdtemp(join(tmpdir(), 'stratum-tls-'))
  const days = ['-days', '2']
  const selfSigned = (name: string, cn: string) =>
    openssl(
      dir,
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.crt`,
      '-subj',
      `/CN=${cn}`,
      ...days,
    )
  await selfSigned('ca', 'stratum test CA')
  await selfSigned('other', 'another CA')
  await openssl(
    dir,
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'server.key',
    '-out',
    'server.csr',
    '-subj',
    '/CN=localhost',
  )
  await writeFile(join(dir, 'san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n')
  await openssl(
    dir,
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.crt',
    '-extfile',
    'san.ext',
    ...days,
  )
  const files = {
    ca: join(dir, 'ca.crt'),
    otherCa: join(dir, 'other.crt'),
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
  }
  const [ca, otherCa, serverCert, serverKey] = await Promise.all(
    [files.ca, files.otherCa, files.serverCert, files.serverKey].map((f) => readFile(f, 'utf8')),
  )
  return { dir, ca: ca!, otherCa: otherCa!, serverCert: serverCert!, serverKey: serverKey!, files }
}

/** A PostgreSQL server of the test's own that accepts TLS only (plaintext TCP is rejected by pg_hba). */
export async function startTlsPostgres(
  certs: TestCertificates,
): Promise<LocalPostgres & { port: number }> {
  const server = await startLocalPostgres()
  const keyDir = await mkdtemp(join(tmpdir(), 'stratum-tls-pg-'))
  const cert = join(keyDir, 'server.crt')
  const key = join(keyDir, 'server.key')
  await writeFile(cert, certs.serverCert)
  await writeFile(key, certs.serverKey)
  await chmod(key, 0o600)
  const user = await postgresUser()
  await user.own(keyDir, cert, key)
  const admin = new pg.Client({ connectionString: server.url })
  await admin.connect()
  try {
    await admin.query(`ALTER SYSTEM SET ssl_cert_file = '${cert}'`)
    await admin.query(`ALTER SYSTEM SET ssl_key_file = '${key}'`)
    await admin.query('ALTER SYSTEM SET ssl = on')
    const { rows } = await admin.query<{ hba_file: string }>('SHOW hba_file')
    const hba = rows[0]!.hba_file
    const rules = await readFile(hba, 'utf8')
    await writeFile(hba, `hostnossl all all all reject\n${rules}`)
    await user.own(hba)
    await admin.query('SELECT pg_reload_conf()')
  } finally {
    await admin.end()
  }
  return {
    ...server,
    async stop() {
      await server.stop()
      await rm(keyDir, { recursive: true, force: true })
    },
  }
}

/** A redis-server of the test's own that speaks TLS only, on a free port. */
export async function startTlsRedis(
  certs: TestCertificates,
): Promise<{ port: number; stop(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'stratum-tls-redis-'))
  const port = await freePort()
  const child = spawn(
    'redis-server',
    [
      '--port',
      '0',
      '--tls-port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--tls-cert-file',
      certs.files.serverCert,
      '--tls-key-file',
      certs.files.serverKey,
      '--tls-ca-cert-file',
      certs.files.ca,
      '--tls-auth-clients',
      'no',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
    ],
    { stdio: 'ignore' },
  )
  const service = childService(child, dir)
  await service.waitUntilReady(
    () =>
      new Promise<boolean>((resolve) => {
        const socket = connect(
          { host: '127.0.0.1', port, ca: certs.ca, servername: 'localhost' },
          () => {
            socket.end()
            resolve(true)
          },
        )
        socket.on('error', () => resolve(false))
      }),
    10_000,
    'redis-server with TLS did not start',
  )
  return { port, stop: () => service.stop() }
}
