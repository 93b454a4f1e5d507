import { existsSync } from 'node:fs'
import type { RunningService } from './running-service.js'

/**
 * Whether a Docker engine looks reachable (a socket or DOCKER_HOST). Testcontainers is
 * loaded only then, and lazily: it is a dev dependency, and version 12 does not load on
 * Node 20.
 * @internal
 */
export function dockerLooksAvailable(): boolean {
  return !!process.env.DOCKER_HOST || existsSync('/var/run/docker.sock')
}

/** Starts `pgvector/pgvector:pg16` through testcontainers. @internal */
export async function startDockerPostgres(): Promise<RunningService> {
  const { PostgreSqlContainer } = await import('@testcontainers/postgresql')
  const container = await new PostgreSqlContainer('pgvector/pgvector:pg16')
    .withUsername('postgres')
    .withPassword('postgres')
    .withDatabase('postgres')
    .withCommand([
      'postgres',
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'max_connections=300',
    ])
    .start()
  return {
    url: container.getConnectionUri(),
    source: 'docker',
    description: `pgvector/pgvector:pg16 in Docker on port ${container.getPort()}`,
    async stop() {
      await container.stop()
    },
  }
}

/** Starts `redis:7` through testcontainers. @internal */
export async function startDockerRedis(): Promise<RunningService> {
  const { RedisContainer } = await import('@testcontainers/redis')
  const container = await new RedisContainer('redis:7').start()
  return {
    url: container.getConnectionUrl(),
    source: 'docker',
    description: `redis:7 in Docker on port ${container.getPort()}`,
    async stop() {
      await container.stop()
    },
  }
}
