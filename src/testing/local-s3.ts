import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { childService } from './child-service.js'
import { freePort } from './free-port.js'
import type { RunningService } from './running-service.js'

/** How to reach an S3-protocol test server, in the shape the S3 blob driver takes. */
export interface S3Endpoint {
  readonly endpoint: string
  readonly bucket: string
  readonly region: string
  readonly accessKeyId: string
  readonly secretAccessKey: string
  readonly forcePathStyle: boolean
  /** `when_required` for servers that mishandle the SDK's default checksums (s3rver). */
  readonly checksums: 'when_supported' | 'when_required'
}

/** An S3-protocol server found or started for tests. */
export interface RunningS3 extends RunningService {
  readonly s3: S3Endpoint
}

/** A throwaway s3rver, which a test may also kill and start again (same port, same objects). @internal */
export interface LocalS3 extends RunningS3 {
  /** Kills the server process; its objects stay on disk. */
  halt(): Promise<void>
  /** Starts a halted server again on the same port and directory. */
  resume(): Promise<void>
}

/** The bucket created on a throwaway test server. */
export const TEST_BUCKET = 'stratum-test'

async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(500) })
    await response.arrayBuffer()
    return response.status < 500
  } catch {
    return false
  }
}

/**
 * Starts s3rver (the npm S3 test server, a dev dependency) in a child process on a free
 * loopback port, with one bucket. s3rver needs path-style addressing and
 * `when_required` checksums, and its process needs `--openssl-legacy-provider` (it
 * encrypts listing continuation tokens with DES, which OpenSSL 3 only has there).
 * @internal
 */
export async function startLocalS3(): Promise<LocalS3> {
  let bin: string
  try {
    bin = createRequire(import.meta.url).resolve('s3rver/bin/s3rver.js')
  } catch {
    throw new Error('s3rver is not installed: npm install --save-dev s3rver')
  }
  const dir = await mkdtemp(join(tmpdir(), 'stratum-s3-'))
  const port = await freePort()
  const endpoint = `http://127.0.0.1:${port}`
  const launch = async () => {
    const child = spawn(
      process.execPath,
      [
        '--openssl-legacy-provider',
        bin,
        '--directory',
        dir,
        '--address',
        '127.0.0.1',
        '--port',
        String(port),
        '--silent',
        '--configure-bucket',
        TEST_BUCKET,
      ],
      { stdio: 'ignore' },
    )
    const service = childService(child, dir)
    await service.waitUntilReady(() => answers(endpoint), 15_000, 's3rver did not start')
    return { child, service }
  }
  let running: Awaited<ReturnType<typeof launch>> | undefined = await launch()
  return {
    url: endpoint,
    source: 'local',
    description: `s3rver on ${endpoint} (npm, bucket ${TEST_BUCKET})`,
    ...(running.child.pid ? { pid: running.child.pid } : {}),
    s3: {
      endpoint,
      bucket: TEST_BUCKET,
      region: 'us-east-1',
      accessKeyId: 'S3RVER',
      secretAccessKey: 'S3RVER',
      forcePathStyle: true,
      checksums: 'when_required',
    },
    async halt() {
      const child = running?.child
      running = undefined
      if (!child || child.exitCode !== null) return
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGKILL')
      await exited
    },
    async resume() {
      running ??= await launch()
    },
    async stop() {
      if (running) await running.service.stop()
      else await rm(dir, { recursive: true, force: true })
    },
  }
}
