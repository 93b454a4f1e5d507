import { z } from 'zod'
import type { BlobDriver } from './blob-driver.js'
import { isS3Client, type S3ClientLike } from './s3-client.js'

const isBlobDriver = (value: unknown): boolean =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as { put?: unknown }).put === 'function' &&
  typeof (value as { list?: unknown }).list === 'function'

/** The `s3` options: the bucket and how to reach it. */
export const s3Schema = z
  .object({
    bucket: z
      .string()
      .regex(
        /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
        'must be an S3 bucket name (3-63 characters: a-z, 0-9, . and -)',
      ),
    region: z.string().min(1).optional(),
    endpoint: z.string().url().optional(),
    forcePathStyle: z.boolean().optional(),
    credentials: z
      .object({
        accessKeyId: z.string().min(1),
        secretAccessKey: z.string().min(1),
        sessionToken: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
    client: z.custom<S3ClientLike>(isS3Client, { message: 'must be an S3Client' }).optional(),
    checksums: z.enum(['when_supported', 'when_required']).optional(),
    maxAttempts: z.number().int().min(1).max(20).optional(),
  })
  .strict()

/**
 * The blob store's defaults, stated once: the options schema fills them in and `BlobStore`
 * falls back to them when built directly.
 */
export const BLOB_DEFAULTS = Object.freeze({
  /** The filesystem driver's directory, relative to the working directory. */
  dir: '.stratum/blobs',
  prefix: '',
  /** 8 MiB parts for multipart uploads (S3's minimum is 5 MiB). */
  partSizeBytes: 8 * 1024 * 1024,
  /** Parts uploaded at once. */
  queueSize: 4,
  fsync: true,
} as const)

/** S3's smallest part of a multipart upload (but the last). */
export const MIN_PART_BYTES = 5 * 1024 * 1024

/** The `blobs` options: the filesystem or a given driver, key prefix, multipart sizes. */
export const blobsSchema = z
  .object({
    /** Directory of the filesystem driver (default `./.stratum/blobs`). */
    dir: z.string().min(1).optional(),
    /** Any `BlobDriver` (for example `memoryBlobDriver()`), instead of S3 or the filesystem. */
    driver: z.custom<BlobDriver>(isBlobDriver, { message: 'must be a BlobDriver' }).optional(),
    prefix: z.string().max(512).default(BLOB_DEFAULTS.prefix),
    partSizeBytes: z.number().int().min(MIN_PART_BYTES).default(BLOB_DEFAULTS.partSizeBytes),
    queueSize: z.number().int().min(1).max(64).default(BLOB_DEFAULTS.queueSize),
    fsync: z.boolean().default(BLOB_DEFAULTS.fsync),
  })
  .strict()
  .prefault({})
