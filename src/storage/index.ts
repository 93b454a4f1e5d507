/**
 * The blob store of stratum-data: the `BlobStore` front, the `BlobDriver` contract and
 * its three drivers (S3 and S3-compatible services, local filesystem, memory).
 *
 * @example
 * ```ts
 * import { BlobStore, s3BlobDriver } from 'stratum-data/storage'
 * const blobs = new BlobStore(s3BlobDriver({ bucket: 'uploads', region: 'eu-west-1' }))
 * await blobs.put('reports/2026.csv', csv, { contentType: 'text/csv' })
 * ```
 * @module
 */
export type {
  BlobDriver,
  BlobHead,
  BlobListItem,
  BlobListOptions,
  BlobPage,
  BlobProgress,
  BlobWriteOptions,
  ByteRange,
  DeleteManyResult,
  DriverPutOptions,
  SignedUrlOptions,
} from './blob-driver.js'
export { MAX_BLOB_KEY_BYTES } from './blob-key.js'
export {
  type BlobBody,
  type BlobPutOptions,
  type BlobStats,
  BlobStore,
  type BlobStoreOptions,
} from './blob-store.js'
export { type FsBlobDriverOptions, fsBlobDriver } from './fs-driver.js'
export { memoryBlobDriver } from './memory-driver.js'
export type { S3ClientLike } from './s3-client.js'
export { type S3BlobDriverOptions, type S3Credentials, s3BlobDriver } from './s3-driver.js'
