import { createConnection } from 'node:net'
import { describe, expect, it } from 'vitest'
import { startLocalRedis } from '../../src/testing/local-redis.js'

function ping(url: string): Promise<string> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: hostname, port: Number(port) }, () =>
      socket.write('PING\r\n'),
    )
    socket.once('data', (data) => {
      socket.destroy()
      resolve(data.toString().trim())
    })
    socket.once('error', reject)
  })
}

describe('local test services', () => {
  it('starts a throwaway redis-server on a free port and stops it', async () => {
    const redis = await startLocalRedis()
    expect(redis.source).toBe('local')
    expect(await ping(redis.url)).toBe('+PONG')
    await redis.stop()
    await expect(ping(redis.url)).rejects.toMatchObject({ code: 'ECONNREFUSED' })
  })
})
