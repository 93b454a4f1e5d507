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

/** Which services to find or start, and whether the embedded defaults may stand in. */
export interface TestServiceRequest {
  /** PostgreSQL with pgvector (default true). */
  readonly postgres?: boolean
  /** Redis (default true). */
  readonly redis?: boolean
  /** An S3-protocol server with one bucket (default true). */
  readonly s3?: boolean
  /**
   * When a service can be neither found nor started: `true` (the default) leaves it out,
   * so test data layers use the embedded default in its place (PGlite, the in-process
   * cache, the filesystem) and `embedded` names it; `false` throws instead.
   */
  readonly allowEmbedded?: boolean
}

/** A service that is not a real server: the embedded default stands in for it. */
export type TestServiceName = 'postgres' | 'redis' | 's3'

/** The services found or started for a test run. */
export interface TestServices {
  readonly postgres?: RunningService
  readonly redis?: RunningService
  readonly s3?: RunningS3
  /** Services requested but not available, for which the embedded default is used. */
  readonly embedded: readonly TestServiceName[]
  /** One line per service: what was chosen and why. */
  readonly summary: string[]
  /** Stops what was started here (nothing for services given by URL). */
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

const EMBEDDED: Record<TestServiceName, string> = {
  postgres: 'PGlite with pgvector (embedded)',
  redis: 'the in-process LRU cache (embedded)',
  s3: 'the local filesystem (embedded)',
}

async function pick<S extends RunningService>(
  found: S | undefined,
  docker: () => Promise<S>,
  local: () => Promise<S>,
): Promise<{ service: S } | { reasons: string[] }> {
  if (found) return { service: found }
  const reasons: string[] = []
  const mode = process.env.STRATUM_TEST_SERVICES
  if (mode !== 'local' && (mode === 'docker' || dockerLooksAvailable())) {
    try {
      return { service: await docker() }
    } catch (error) {
      if (mode === 'docker') throw error
      reasons.push(`Docker: ${(error as Error).message.split('\n')[0]}`)
    }
  } else reasons.push('no Docker engine')
  try {
    return { service: await local() }
  } catch (error) {
    reasons.push(`local: ${(error as Error).message.split('\n')[0]}`)
  }
  return { reasons }
}

/**
 * Finds or starts real services for tests, in this order: the URLs in `TEST_DATABASE_URL`,
 * `TEST_REDIS_URL` and `TEST_S3_ENDPOINT` (with `TEST_S3_BUCKET`, `TEST_S3_ACCESS_KEY_ID`,
 * `TEST_S3_SECRET_ACCESS_KEY`); Docker through testcontainers when an engine is reachable
 * (`pgvector/pgvector:pg16`, `redis:7`, MinIO; the testcontainers packages are optional
 * peer dependencies); local binaries on free loopback ports (PostgreSQL with pgvector,
 * `redis-server`, the `s3rver` package); else, with `allowEmbedded`, nothing, and test
 * data layers use the embedded defaults. `STRATUM_TEST_SERVICES=local|docker` forces a
 * choice. `summary` says what was chosen for each and why.
 *
 * @example
 * ```ts
 * const services = await startTestServices()
 * console.log(services.summary.join('\n'))
 * exportTestServices(services)      // for createTestDataLayer() in this and child processes
 * // ... run tests ...
 * await services.stop()
 * ```
 */
export async function startTestServices(request: TestServiceRequest = {}): Promise<TestServices> {
  const allowEmbedded = request.allowEmbedded ?? true
  const started: RunningService[] = []
  const summary: string[] = []
  const embedded: TestServiceName[] = []
  const settle = <S extends RunningService>(
    name: TestServiceName,
    outcome: { service: S } | { reasons: string[] },
  ): S | undefined => {
    if ('service' in outcome) {
      started.push(outcome.service)
      summary.push(`${name}: ${outcome.service.description}`)
      return outcome.service
    }
    const why = outcome.reasons.join('; ')
    if (!allowEmbedded) throw new Error(`No ${name} for the tests (${why})`)
    embedded.push(name)
    summary.push(`${name}: ${EMBEDDED[name]}, since none was found (${why})`)
    return undefined
  }
  /** A service reached by one URL variable, else started in Docker, else locally. */
  const byUrl = async (
    name: 'postgres' | 'redis',
    variable: string,
    docker: () => Promise<RunningService>,
    local: () => Promise<RunningService>,
  ) => {
    if (!(request[name] ?? true)) return undefined
    const url = process.env[variable]
    return settle(name, await pick(url ? fromEnv(url, variable) : undefined, docker, local))
  }
  try {
    const postgres = await byUrl(
      'postgres',
      'TEST_DATABASE_URL',
      startDockerPostgres,
      startLocalPostgres,
    )
    const redis = await byUrl('redis', 'TEST_REDIS_URL', startDockerRedis, startLocalRedis)
    let s3: RunningS3 | undefined
    if (request.s3 ?? true)
      s3 = settle('s3', await pick(s3FromEnv(process.env), startDockerS3, startLocalS3))
    return {
      ...(postgres ? { postgres } : {}),
      ...(redis ? { redis } : {}),
      ...(s3 ? { s3 } : {}),
      embedded,
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

/**
 * Puts the services' URLs into `env` (default `process.env`) as `TEST_DATABASE_URL`,
 * `TEST_REDIS_URL` and `TEST_S3_*`, where worker processes started afterwards (Vitest's
 * and Jest's) and `createTestDataLayer()` find them; `startTestServices()` in a child
 * process then reuses them instead of starting its own.
 */
export function exportTestServices(
  services: Pick<TestServices, 'postgres' | 'redis' | 's3'>,
  env: Record<string, string | undefined> = process.env,
): void {
  if (services.postgres) env.TEST_DATABASE_URL = services.postgres.url
  if (services.redis) env.TEST_REDIS_URL = services.redis.url
  const s3 = services.s3?.s3
  if (s3) {
    env.TEST_S3_ENDPOINT = s3.endpoint
    env.TEST_S3_BUCKET = s3.bucket
    env.TEST_S3_REGION = s3.region
    env.TEST_S3_ACCESS_KEY_ID = s3.accessKeyId
    env.TEST_S3_SECRET_ACCESS_KEY = s3.secretAccessKey
    env.TEST_S3_FORCE_PATH_STYLE = String(s3.forcePathStyle)
    env.TEST_S3_CHECKSUMS = s3.checksums
  }
}

/**
 * The S3 endpoint that `TEST_S3_*` describe (as {@link exportTestServices} writes them),
 * or undefined when `TEST_S3_ENDPOINT` is unset.
 */
export function testS3FromEnv(
  env: Record<string, string | undefined> = process.env,
): S3Endpoint | undefined {
  return s3FromEnv(env)?.s3
}
