import { resolve } from 'node:path'
import type { ResolvedOptions } from '../config/options.js'
import type { BlobDriver } from '../storage/blob-driver.js'
import { BLOB_DEFAULTS } from '../storage/blob-options.js'
import { BlobStore } from '../storage/blob-store.js'
import { fsBlobDriver } from '../storage/fs-driver.js'

/** The blob store: a given driver, S3 when configured, else the local filesystem. */
export async function openBlobs(options: ResolvedOptions): Promise<BlobStore> {
  const { s3, blobs } = options
  let driver: BlobDriver
  if (blobs.driver) driver = blobs.driver
  else if (s3) {
    // Loaded only when configured: the AWS SDK takes a while to load.
    const { s3BlobDriver } = await import('../storage/s3-driver.js')
    driver = s3BlobDriver({
      bucket: s3.bucket,
      ...(s3.client ? { client: s3.client as never } : {}),
      ...(s3.region ? { region: s3.region } : s3.endpoint ? { region: 'us-east-1' } : {}),
      ...(s3.endpoint ? { endpoint: s3.endpoint } : {}),
      ...(s3.forcePathStyle === undefined ? {} : { forcePathStyle: s3.forcePathStyle }),
      ...(s3.credentials ? { credentials: s3.credentials } : {}),
      ...(s3.checksums ? { checksums: s3.checksums } : {}),
      ...(s3.maxAttempts ? { maxAttempts: s3.maxAttempts } : {}),
    })
  } else {
    driver = fsBlobDriver({
      dir: resolve(blobs.dir ?? BLOB_DEFAULTS.dir),
      fsync: blobs.fsync,
    })
  }
  return new BlobStore(driver, {
    prefix: blobs.prefix,
    partSizeBytes: blobs.partSizeBytes,
    queueSize: blobs.queueSize,
  })
}
