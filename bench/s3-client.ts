import { S3Client } from '@aws-sdk/client-s3'
import type { S3Endpoint } from '../src/testing/local-s3.js'

/** A raw AWS SDK client for the bench's S3 server, with the checksum setting it needs. */
export function rawS3Client(s3: S3Endpoint): S3Client {
  const checksums = s3.checksums === 'when_required' ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED'
  return new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: s3.forcePathStyle,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    requestChecksumCalculation: checksums,
    responseChecksumValidation: checksums,
  })
}
