import { dockerLooksAvailable, startDockerPostgres, startDockerRedis } from './docker-services.js'
import { startLocalPostgres } from './local-postgres.js'
import { startLocalRedis } from './local-redis.js'
import type { RunningService } from './running-service.js'

/** Which services to start. */
export interface TestServiceRequest {
  readonly postgres?: boolean
  readonly redis?: boolean
}

/** The services found or started for a test run. */
export interface TestServices {
  readonly postgres?: RunningService
  readonly redis?: RunningService
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

async function pick(
  envUrl: string | undefined,
  envName: string,
  docker: () => Promise<RunningService>,
  local: () => Promise<RunningService>,
): Promise<RunningService> {
  if (envUrl) return fromEnv(envUrl, envName)
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
 * `TEST_REDIS_URL`; Docker through testcontainers when an engine is reachable; local
 * binaries on free ports. `STRATUM_TEST_SERVICES=local|docker` forces a choice.
 * @internal
 */
export async function startTestServices(
  request: TestServiceRequest = { postgres: true, redis: true },
): Promise<TestServices> {
  const started: RunningService[] = []
  const summary: string[] = []
  try {
    let postgres: RunningService | undefined
    let redis: RunningService | undefined
    if (request.postgres) {
      postgres = await pick(
        process.env.TEST_DATABASE_URL,
        'TEST_DATABASE_URL',
        startDockerPostgres,
        startLocalPostgres,
      )
      started.push(postgres)
      summary.push(`postgres: ${postgres.description}`)
    }
    if (request.redis) {
      redis = await pick(
        process.env.TEST_REDIS_URL,
        'TEST_REDIS_URL',
        startDockerRedis,
        startLocalRedis,
      )
      started.push(redis)
      summary.push(`redis: ${redis.description}`)
    }
    return {
      ...(postgres ? { postgres } : {}),
      ...(redis ? { redis } : {}),
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
