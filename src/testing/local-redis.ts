import { spawn } from 'node:child_process'
import { mkdtemp } from 'node:fs/promises'
import { createConnection } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { childService } from './child-service.js'
import { freePort } from './free-port.js'
import type { RunningService } from './running-service.js'

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

/**
 * Starts a throwaway `redis-server` (no persistence) on a free loopback port.
 * @internal
 */
export async function startLocalRedis(): Promise<RunningService> {
  const dir = await mkdtemp(join(tmpdir(), 'stratum-redis-'))
  const port = await freePort()
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
    ],
    { stdio: 'ignore' },
  )
  const service = childService(child, dir)
  await service.waitUntilReady(
    () => ping(port),
    10_000,
    'redis-server did not start (run scripts/install-test-services.sh)',
  )
  return {
    url: `redis://127.0.0.1:${port}`,
    source: 'local',
    description: `redis-server on 127.0.0.1:${port} (local binary)`,
    ...(child.pid ? { pid: child.pid } : {}),
    stop: () => service.stop(),
  }
}
