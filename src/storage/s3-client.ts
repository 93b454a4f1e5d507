/**
 * A ready `S3Client` of `@aws-sdk/client-s3`, described by the members the blob store checks
 * for. The AWS SDK is an optional peer: this keeps its types out of the public ones, so a
 * project without it still type-checks without `skipLibCheck`.
 */
export interface S3ClientLike {
  readonly config: object
  send(command: never, options?: never): Promise<unknown>
  destroy(): void
}

/** Whether `value` looks like an `S3Client`. */
export const isS3Client = (value: unknown): value is S3ClientLike =>
  typeof value === 'object' && value !== null && 'send' in value && 'config' in value
