import { StratumError, type StratumErrorCode, ValidationError } from '../errors.js'

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
])

const CREDENTIAL_CODES = new Set([
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'CredentialsProviderError',
])

interface SdkError {
  name?: string
  code?: string
  Code?: string
  message?: string
  $metadata?: { httpStatusCode?: number }
}

/**
 * Turns an S3 SDK error into a `StratumError`: `NOT_FOUND` for a missing object,
 * `UNAVAILABLE` for network trouble and 5xx answers (after the SDK's own retries),
 * `CONFIG` for a missing bucket or refused credentials, `ABORTED` for the caller's abort,
 * `VALIDATION` for an unsatisfiable range, `STORAGE` for the rest. The SDK error is the
 * `cause`; messages carry the S3 error code, never a credential.
 * @internal
 */
export function mapS3Error(
  error: unknown,
  operation: string,
  key: string,
  bucket: string,
): StratumError {
  if (error instanceof StratumError) return error
  const sdk = (error ?? {}) as SdkError
  const name = sdk.name ?? sdk.Code ?? 'Error'
  const status = sdk.$metadata?.httpStatusCode
  const where = key ? `${JSON.stringify(key)} in bucket ${bucket}` : `bucket ${bucket}`
  const details = { operation, key, bucket, s3Code: name, ...(status ? { status } : {}) }
  const make = (code: StratumErrorCode, message: string) =>
    new StratumError(code, message, { details, cause: error })

  if (name === 'AbortError' || name === 'RequestAbortedError')
    return make('ABORTED', `${operation} of ${where} was aborted; nothing was stored`)
  if (name === 'NoSuchBucket')
    return make('CONFIG', `S3 bucket ${bucket} does not exist (${operation})`)
  if (name === 'NoSuchKey' || name === 'NotFound' || (status === 404 && key))
    return make('NOT_FOUND', `No blob is stored under ${JSON.stringify(key)}`)
  if (name === 'InvalidRange' || status === 416)
    return new ValidationError(
      operation,
      [{ path: 'range', message: `is past the end of ${where}` }],
      {
        details,
        cause: error,
      },
    )
  if (CREDENTIAL_CODES.has(name) || status === 403)
    return make(
      'CONFIG',
      `S3 refused the request for ${where} (${name}): check the credentials and the bucket policy`,
    )
  const errno = sdk.code ?? (sdk as { cause?: SdkError }).cause?.code
  if (
    (errno && NETWORK_CODES.has(errno)) ||
    name === 'TimeoutError' ||
    name === 'SlowDown' ||
    (status !== undefined && status >= 500)
  )
    return make(
      'UNAVAILABLE',
      `The S3 endpoint is unavailable (${operation} of ${where}: ${errno ?? name})`,
    )
  return make(
    'STORAGE',
    `S3 ${operation} of ${where} failed (${name}${status ? `, HTTP ${status}` : ''}): ${sdk.message ?? ''}`,
  )
}
