import { S3Client } from '@aws-sdk/client-s3'
import { inject } from 'vitest'
import type { S3BlobDriverOptions } from '../../src/storage/index.js'

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
