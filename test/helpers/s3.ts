import { S3Client } from '@aws-sdk/client-s3'
import { inject } from 'vitest'
import { BlobStore, type S3BlobDriverOptions, s3BlobDriver } from '../../src/storage/index.js'
import { uniquePrefix } from '../../src/testing/contracts/index.js'

/** S3 driver options for the test server of this run (s3rver, or TEST_S3_*). */
export function testS3Options(overrides: Partial<S3BlobDriverOptions> = {}) {
  const s3 = inject('s3')
  return {
    bucket: s3.bucket,
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: s3.forcePathStyle,
    checksums: s3.checksums,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    ...overrides,
  }
}

/** A client for the test server, with the checksum setting it needs. */
export function testS3Client(): S3Client {
  const options = testS3Options()
  const checksums = options.checksums === 'when_required' ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED'
  return new S3Client({
    endpoint: options.endpoint,
    region: options.region,
    forcePathStyle: options.forcePathStyle,
    credentials: options.credentials,
    requestChecksumCalculation: checksums,
    responseChecksumValidation: checksums,
  })
}

/** A BlobStore on the test S3 server under a prefix of its own; `close` empties the prefix. */
export function openTestS3Store(): { store: BlobStore; close(): Promise<void> } {
  const client = testS3Client()
  const store = new BlobStore(s3BlobDriver({ bucket: inject('s3').bucket, client }), {
    prefix: uniquePrefix(),
  })
  return {
    store,
    async close() {
      const keys: string[] = []
      for await (const item of store.listAll()) keys.push(item.key)
      await store.deleteMany(keys)
      await store.close()
      client.destroy()
    },
  }
}
