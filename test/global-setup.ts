import type { TestProject } from 'vitest/node'
import { prepareTestServices } from '../src/testing/global-setup.js'
import { startLocalPgBouncer } from '../src/testing/local-pgbouncer.js'
import { startLocalRedisCluster } from '../src/testing/local-redis.js'

/** Embedding dimensions whose templates are migrated before the tests start. */
export const TEMPLATE_DIMENSIONS = [1536, 384] as const

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string
    postgresDescription: string
    redisUrl: string
    redisDescription: string
    s3: import('../src/testing/local-s3.js').S3Endpoint
    s3Description: string
    /** Seed nodes of a 3-master Redis Cluster (local redis-server processes). */
    redisClusterNodes: string[]
    redisClusterDescription: string
    /** PgBouncer in transaction pooling mode in front of the test server. */
    pgbouncerUrl: string
    pgbouncerDescription: string
    /** Unique per run: the package is built once per run (test/helpers/built-package.ts). */
    runId: string
  }
}

/**
 * The project's own tests run on real servers only (no embedded stand-ins), found or
 * started by the same code the package's users get from `stratum-data/testing`.
 */
export default async function setup(project: TestProject) {
  const started = performance.now()
  const services = await prepareTestServices({
    services: { allowEmbedded: false },
    templates: TEMPLATE_DIMENSIONS.map((dimensions) => ({ embeddings: { dimensions } })),
  })
  const [pgbouncer, redisCluster] = await Promise.all([
    startLocalPgBouncer(services.postgres!.url),
    startLocalRedisCluster(3),
  ])
  console.log(
    `[test services] ${services.summary.join('; ')}; pooler: ${pgbouncer.description}; ${redisCluster.description}; templates migrated for ${TEMPLATE_DIMENSIONS.join(', ')}-d ` +
      `(${Math.round(performance.now() - started)} ms)`,
  )
  project.provide('postgresUrl', services.postgres!.url)
  project.provide('postgresDescription', services.postgres!.description)
  project.provide('redisUrl', services.redis!.url)
  project.provide('redisDescription', services.redis!.description)
  project.provide('s3', services.s3!.s3)
  project.provide('s3Description', services.s3!.description)
  project.provide('redisClusterNodes', [...redisCluster.nodes])
  project.provide('redisClusterDescription', redisCluster.description)
  project.provide('pgbouncerUrl', pgbouncer.url)
  project.provide('pgbouncerDescription', pgbouncer.description)
  project.provide('runId', `${process.pid}-${Date.now()}`)
  return async () => {
    await pgbouncer.stop()
    await redisCluster.stop()
    await services.stop()
  }
}
