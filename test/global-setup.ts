import type { TestProject } from 'vitest/node'
import { startTestServices } from '../src/testing/start-test-services.js'
import { createTemplateDatabase } from '../src/testing/template-databases.js'

/** Embedding dimensions that get a migrated template database for the tests. */
export const TEMPLATE_DIMENSIONS = [1536, 384] as const

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string
    postgresDescription: string
    redisUrl: string
    redisDescription: string
    s3: import('../src/testing/local-s3.js').S3Endpoint
    s3Description: string
  }
}

export default async function setup(project: TestProject) {
  const started = performance.now()
  const services = await startTestServices({ postgres: true, redis: true, s3: true })
  const postgres = services.postgres!
  try {
    for (const dimensions of TEMPLATE_DIMENSIONS)
      await createTemplateDatabase(postgres.url, dimensions)
  } catch (error) {
    await services.stop()
    throw error
  }
  console.log(
    `[test services] ${services.summary.join('; ')}; templates migrated for ${TEMPLATE_DIMENSIONS.join(', ')}-d ` +
      `(${Math.round(performance.now() - started)} ms)`,
  )
  project.provide('postgresUrl', postgres.url)
  project.provide('postgresDescription', postgres.description)
  project.provide('redisUrl', services.redis!.url)
  project.provide('redisDescription', services.redis!.description)
  project.provide('s3', services.s3!.s3)
  project.provide('s3Description', services.s3!.description)
  return () => services.stop()
}
