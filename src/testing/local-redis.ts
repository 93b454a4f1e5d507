import { execFile, spawn } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createConnection } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { childService } from './child-service.js'
import { freePort } from './free-port.js'
import type { RunningService } from './running-service.js'

const run = promisify(execFile)

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => socket.write('PING\r\n'))
    socket.setTimeout(500)
    socket.on('data', (data) => {
      socket.destroy()
      resolve(data.toString().startsWith('+PONG'))
    })
    socket.on('error', () => resolve(false))
    socket.on('timeout', () => {
      socket.destroy()
      resolve(false)
    })
  })
}

/** Spawns one redis-server (no persistence) on `port` with its files in `dir`; waits for it. */
async function spawnRedis(port: number, dir: string, extra: string[] = []) {
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      ...extra,
    ],
    { stdio: 'ignore' },
  )
  const service = childService(child, dir)
  await service.waitUntilReady(
    () => ping(port),
    10_000,
    'redis-server did not start (run scripts/install-test-services.sh)',
  )
  return { child, service }
}

/**
 * Starts a throwaway `redis-server` (no persistence) on a free loopback port.
 * @internal
 */
export async function startLocalRedis(): Promise<RunningService> {
  const dir = await mkdtemp(join(tmpdir(), 'stratum-redis-'))
  const port = await freePort()
  const { child, service } = await spawnRedis(port, dir)
  return {
    url: `redis://127.0.0.1:${port}`,
    source: 'local',
    description: `redis-server on 127.0.0.1:${port} (local binary)`,
    ...(child.pid ? { pid: child.pid } : {}),
    stop: () => service.stop(),
  }
}

/** A local Redis Cluster whose nodes a test may stop and start again. @internal */
export interface LocalRedisCluster {
  /** `redis://127.0.0.1:<port>` of each master. */
  readonly nodes: readonly string[]
  readonly description: string
  /** Stops master `index` (SIGTERM); its slots are unserved until it is started again. */
  haltNode(index: number): Promise<void>
  /** Starts master `index` again on its port, with its cluster configuration (its data is gone). */
  resumeNode(index: number): Promise<void>
  stop(): Promise<void>
}

async function clusterState(port: number): Promise<string> {
  try {
    const { stdout } = await run('redis-cli', ['-p', String(port), 'cluster', 'info'])
    return /cluster_state:(\w+)/.exec(stdout)?.[1] ?? 'unknown'
  } catch {
    return 'unreachable'
  }
}

async function waitForCluster(ports: readonly number[]): Promise<void> {
  const deadline = Date.now() + 20_000
  for (;;) {
    const states = await Promise.all(ports.map(clusterState))
    if (states.every((state) => state === 'ok')) return
    if (Date.now() > deadline)
      throw new Error(`the Redis Cluster did not become ready (states: ${states.join(', ')})`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/**
 * Starts a Redis Cluster of `masters` redis-server processes (`--cluster-enabled yes`, no
 * replicas, no persistence) on free loopback ports, joined with `redis-cli --cluster create`.
 * @internal
 */
export async function startLocalRedisCluster(masters = 3): Promise<LocalRedisCluster> {
  const root = await mkdtemp(join(tmpdir(), 'stratum-redis-cluster-'))
  const ports: number[] = []
  for (let i = 0; i < masters; i++) ports.push(await freePort())
  const clusterArgs = (i: number) => [
    '--cluster-enabled',
    'yes',
    '--cluster-config-file',
    join(root, `nodes-${i}.conf`),
    '--cluster-node-timeout',
    '2000',
  ]
  const dirOf = (i: number) => join(root, `node-${i}`)
  const running: ({ service: { stop(): Promise<void> } } | undefined)[] = []
  const startNode = async (i: number) => {
    await mkdir(dirOf(i), { recursive: true })
    running[i] = await spawnRedis(ports[i]!, dirOf(i), clusterArgs(i))
  }
  try {
    for (let i = 0; i < masters; i++) await startNode(i)
    await run('redis-cli', [
      '--cluster',
      'create',
      ...ports.map((port) => `127.0.0.1:${port}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ])
    await waitForCluster(ports)
  } catch (error) {
    for (const node of running) await node?.service.stop()
    await rm(root, { recursive: true, force: true })
    throw error
  }
  return {
    nodes: ports.map((port) => `redis://127.0.0.1:${port}`),
    description: `Redis Cluster of ${masters} masters on 127.0.0.1:${ports.join(',')} (local binaries)`,
    async haltNode(i) {
      await running[i]?.service.stop()
      running[i] = undefined
    },
    async resumeNode(i) {
      await startNode(i)
      await waitForCluster(ports)
    },
    async stop() {
      for (const node of running) await node?.service.stop()
      await rm(root, { recursive: true, force: true })
    },
  }
}

/** A local Redis master, one replica and one Sentinel watching them. @internal */
export interface LocalRedisSentinel {
  /** `redis://127.0.0.1:<port>` of the Sentinel. */
  readonly sentinels: readonly string[]
  /** The master name the Sentinel monitors. */
  readonly name: string
  readonly description: string
  /** Stops the current master, so the Sentinel fails over to the replica. */
  haltMaster(): Promise<void>
  /** The port of the master the Sentinel names now. */
  masterPort(): Promise<number>
  stop(): Promise<void>
}

/**
 * Starts a master, a replica of it and a Sentinel (quorum 1, down after 1 s) on free
 * loopback ports, from the local redis-server binary (`--sentinel`).
 * @internal
 */
export async function startLocalRedisSentinel(): Promise<LocalRedisSentinel> {
  const root = await mkdtemp(join(tmpdir(), 'stratum-redis-sentinel-'))
  const [masterPort, replicaPort, sentinelPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
  ]
  const name = 'stratum'
  const started: { service: { stop(): Promise<void> } }[] = []
  const dir = async (sub: string) => {
    await mkdir(join(root, sub), { recursive: true })
    return join(root, sub)
  }
  const sentinelAsk = async (...args: string[]) =>
    (await run('redis-cli', ['-p', String(sentinelPort), 'sentinel', ...args])).stdout
  try {
    started.push(await spawnRedis(masterPort!, await dir('master')))
    started.push(
      await spawnRedis(replicaPort!, await dir('replica'), [
        '--replicaof',
        '127.0.0.1',
        String(masterPort),
      ]),
    )
    const sentinelDir = await dir('sentinel')
    const config = join(sentinelDir, 'sentinel.conf')
    await writeFile(
      config,
      [
        `port ${sentinelPort}`,
        'bind 127.0.0.1',
        `dir ${sentinelDir}`,
        `sentinel monitor ${name} 127.0.0.1 ${masterPort} 1`,
        `sentinel down-after-milliseconds ${name} 1000`,
        `sentinel failover-timeout ${name} 5000`,
        `sentinel parallel-syncs ${name} 1`,
        '',
      ].join('\n'),
    )
    const child = spawn('redis-server', [config, '--sentinel'], { stdio: 'ignore' })
    const service = childService(child, sentinelDir)
    started.push({ service })
    await service.waitUntilReady(
      () => ping(sentinelPort!),
      10_000,
      'redis-server --sentinel did not start',
    )
    // Ready once the Sentinel has found the replica.
    const deadline = Date.now() + 20_000
    while (!(await sentinelAsk('replicas', name)).includes(String(replicaPort))) {
      if (Date.now() > deadline) throw new Error('the Sentinel did not find the replica')
      await new Promise((r) => setTimeout(r, 100))
    }
  } catch (error) {
    for (const node of started) await node.service.stop()
    await rm(root, { recursive: true, force: true })
    throw error
  }
  const masterPortNow = async () =>
    Number((await sentinelAsk('get-master-addr-by-name', name)).split('\n')[1]?.trim())
  return {
    sentinels: [`redis://127.0.0.1:${sentinelPort}`],
    name,
    description: `Redis master ${masterPort}, replica ${replicaPort}, Sentinel ${sentinelPort} (local binaries)`,
    masterPort: masterPortNow,
    async haltMaster() {
      const port = await masterPortNow()
      await started[port === masterPort ? 0 : 1]!.service.stop()
    },
    async stop() {
      for (const node of started) await node.service.stop()
      await rm(root, { recursive: true, force: true })
    },
  }
}
