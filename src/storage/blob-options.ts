import { z } from 'zod'

const isS3Client = (value: unknown): boolean =>
  typeof value === 'object' && value !== null && 'send' in value && 'config' in value
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
    client: z.custom<object>(isS3Client, { message: 'must be an S3Client' }).optional(),
    checksums: z.enum(['when_supported', 'when_required']).optional(),
    maxAttempts: z.number().int().min(1).max(20).optional(),
  })
  .strict()

/** The `blobs` options: the filesystem or a given driver, key prefix, multipart sizes. */
export const blobsSchema = z
  .object({
    /** Directory of the filesystem driver (default `./.stratum/blobs`). */
    dir: z.string().min(1).optional(),
    /** Any `BlobDriver` (for example `memoryBlobDriver()`), instead of S3 or the filesystem. */
    driver: z.custom<object>(isBlobDriver, { message: 'must be a BlobDriver' }).optional(),
    prefix: z.string().max(512).default(''),
    partSizeBytes: z
      .number()
      .int()
      .min(5 * 1024 * 1024)
      .default(8 * 1024 * 1024),
    queueSize: z.number().int().min(1).max(64).default(4),
    fsync: z.boolean().default(true),
  })
  .strict()
