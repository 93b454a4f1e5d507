import {
  dockerLooksAvailable,
  startDockerPostgres,
  startDockerRedis,
  startDockerS3,
} from './docker-services.js'
import { startLocalPostgres } from './local-postgres.js'
import { startLocalRedis } from './local-redis.js'
import { type RunningS3, type S3Endpoint, startLocalS3 } from './local-s3.js'
import type { RunningService } from './running-service.js'

/** Which services to start. */
export interface TestServiceRequest {
  readonly postgres?: boolean
  readonly redis?: boolean
  /** An S3-protocol server with one bucket. */
  readonly s3?: boolean
}

/** The services found or started for a test run. */
export interface TestServices {
  readonly postgres?: RunningService
  readonly redis?: RunningService
  readonly s3?: RunningS3
  /** One line per service: what was chosen and why. */
  readonly summary: string[]
  stop(): Promise<void>
}

function fromEnv(url: string, what: string): RunningService {
  const safe = url.replace(/:\/\/([^:@/]*):[^@/]*@/, '://$1:***@')
  return {
    url,
    source: 'env',
    description: `${what} from the environment (${safe})`,
    stop: async () => {},
  }
}

/**
 * An S3 endpoint from `TEST_S3_ENDPOINT`, `TEST_S3_BUCKET`, `TEST_S3_ACCESS_KEY_ID`,
 * `TEST_S3_SECRET_ACCESS_KEY` and optionally `TEST_S3_REGION`, `TEST_S3_FORCE_PATH_STYLE`
 * and `TEST_S3_CHECKSUMS`; undefined when `TEST_S3_ENDPOINT` is unset.
 */
function s3FromEnv(env: Record<string, string | undefined>): RunningS3 | undefined {
  const endpoint = env.TEST_S3_ENDPOINT
  if (!endpoint) return undefined
  const missing = ['TEST_S3_BUCKET', 'TEST_S3_ACCESS_KEY_ID', 'TEST_S3_SECRET_ACCESS_KEY'].filter(
    (name) => !env[name],
  )
  if (missing.length > 0)
    throw new Error(`TEST_S3_ENDPOINT is set but ${missing.join(', ')} is not`)
  const s3: S3Endpoint = {
    endpoint,
    bucket: env.TEST_S3_BUCKET!,
    region: env.TEST_S3_REGION ?? 'us-east-1',
    accessKeyId: env.TEST_S3_ACCESS_KEY_ID!,
    secretAccessKey: env.TEST_S3_SECRET_ACCESS_KEY!,
    forcePathStyle: env.TEST_S3_FORCE_PATH_STYLE !== 'false',
    checksums: env.TEST_S3_CHECKSUMS === 'when_required' ? 'when_required' : 'when_supported',
  }
  return { ...fromEnv(endpoint, `TEST_S3_ENDPOINT (bucket ${s3.bucket})`), s3 }
}

async function pick<S extends RunningService>(
  found: S | undefined,
  docker: () => Promise<S>,
  local: () => Promise<S>,
): Promise<S> {
  if (found) return found
  const mode = process.env.STRATUM_TEST_SERVICES
  if (mode !== 'local' && (mode === 'docker' || dockerLooksAvailable())) {
    try {
      return await docker()
    } catch (error) {
      if (mode === 'docker') throw error
    }
  }
  return local()
}

/**
 * Finds or starts real services for tests, in this order: `TEST_DATABASE_URL` /
 * `TEST_REDIS_URL` / `TEST_S3_*`; Docker through testcontainers when an engine is reachable; local
 * binaries on free ports. `STRATUM_TEST_SERVICES=local|docker` forces a choice.
 * @internal
 */
export async function startTestServices(
  request: TestServiceRequest = { postgres: true, redis: true, s3: true },
): Promise<TestServices> {
  const started: RunningService[] = []
  const summary: string[] = []
  try {
    let postgres: RunningService | undefined
    let redis: RunningService | undefined
    if (request.postgres) {
      const url = process.env.TEST_DATABASE_URL
      postgres = await pick(
        url ? fromEnv(url, 'TEST_DATABASE_URL') : undefined,
        startDockerPostgres,
        startLocalPostgres,
      )
      started.push(postgres)
      summary.push(`postgres: ${postgres.description}`)
    }
    if (request.redis) {
      const url = process.env.TEST_REDIS_URL
      redis = await pick(
        url ? fromEnv(url, 'TEST_REDIS_URL') : undefined,
        startDockerRedis,
        startLocalRedis,
      )
      started.push(redis)
      summary.push(`redis: ${redis.description}`)
    }
    let s3: RunningS3 | undefined
    if (request.s3) {
      s3 = await pick(s3FromEnv(process.env), startDockerS3, startLocalS3)
      started.push(s3)
      summary.push(`s3: ${s3.description}`)
    }
    return {
      ...(postgres ? { postgres } : {}),
      ...(redis ? { redis } : {}),
      ...(s3 ? { s3 } : {}),
      summary,
      async stop() {
        await Promise.allSettled(started.map((s) => s.stop()))
      },
    }
  } catch (error) {
    await Promise.allSettled(started.map((s) => s.stop()))
    throw error
  }
}
