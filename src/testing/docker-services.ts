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

/** Starts MinIO through testcontainers, with the test bucket created. @internal */
export async function startDockerS3(): Promise<import('./local-s3.js').RunningS3> {
  const { GenericContainer, Wait } = await import('testcontainers')
  const { CreateBucketCommand, S3Client } = await import('@aws-sdk/client-s3')
  const { TEST_BUCKET } = await import('./local-s3.js')
  const accessKeyId = 'stratum'
  const secretAccessKey = 'stratum-secret'
  const container = await new GenericContainer('minio/minio:latest')
    .withCommand(['server', '/data'])
    .withEnvironment({ MINIO_ROOT_USER: accessKeyId, MINIO_ROOT_PASSWORD: secretAccessKey })
    .withExposedPorts(9000)
    .withWaitStrategy(Wait.forHttp('/minio/health/live', 9000))
    .start()
  const endpoint = `http://${container.getHost()}:${container.getMappedPort(9000)}`
  const s3 = {
    endpoint,
    bucket: TEST_BUCKET,
    region: 'us-east-1',
    accessKeyId,
    secretAccessKey,
    forcePathStyle: true,
    checksums: 'when_supported' as const,
  }
  const client = new S3Client({
    endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
  })
  await client.send(new CreateBucketCommand({ Bucket: TEST_BUCKET }))
  client.destroy()
  return {
    url: endpoint,
    source: 'docker',
    description: `MinIO in Docker on ${endpoint}`,
    s3,
    async stop() {
      await container.stop()
    },
  }
}
