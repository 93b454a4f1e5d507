import type { S3Client } from '@aws-sdk/client-s3'
import type { Cluster, Redis } from 'ioredis'
import { describe, expectTypeOf, it } from 'vitest'
import type { RedisClient } from '../../src/cache/index.js'
import type { DataLayerOptions } from '../../src/index.js'
import type { S3ClientLike } from '../../src/storage/index.js'

type RedisClientOption = NonNullable<NonNullable<DataLayerOptions['cache']>['redis']>['client']
type S3ClientOption = NonNullable<DataLayerOptions['s3']>['client']

describe('ready clients are accepted without naming their packages in the public types', () => {
  it('takes an ioredis Redis or Cluster', () => {
    expectTypeOf<Redis>().toExtend<RedisClient>()
    expectTypeOf<Cluster>().toExtend<RedisClient>()
    expectTypeOf<Redis>().toExtend<NonNullable<RedisClientOption>>()
  })

  it('takes an S3Client', () => {
    expectTypeOf<S3Client>().toExtend<S3ClientLike>()
    expectTypeOf<S3Client>().toExtend<NonNullable<S3ClientOption>>()
  })

  it('refuses objects that are neither', () => {
    expectTypeOf<{ get(): void }>().not.toExtend<RedisClient>()
    expectTypeOf<{ send(): void }>().not.toExtend<S3ClientLike>()
  })
})
