import { StratumError, ValidationError } from '../errors.js'

/** `NOT_FOUND` for a missing blob. @internal */
export function blobNotFound(key: string, cause?: unknown): StratumError {
  return new StratumError('NOT_FOUND', `No blob is stored under ${JSON.stringify(key)}`, {
    details: { key },
    ...(cause === undefined ? {} : { cause }),
  })
}

/** `UNSUPPORTED`: this driver cannot do `what`; `instead` says what to do. @internal */
export function blobUnsupported(driver: string, what: string, instead: string): StratumError {
  return new StratumError('UNSUPPORTED', `The ${driver} blob driver cannot ${what}; ${instead}`, {
    details: { driver, operation: what },
  })
}

/** `ABORTED`: the caller's signal stopped a write; nothing was stored. @internal */
export function blobAborted(key: string, cause?: unknown): StratumError {
  return new StratumError(
    'ABORTED',
    `The upload of ${JSON.stringify(key)} was aborted; nothing was stored`,
    { details: { key }, ...(cause === undefined ? {} : { cause }) },
  )
}

/** `VALIDATION`: a range that starts past the end of the object. @internal */
export function rangeNotSatisfiable(key: string, start: number, size: number): StratumError {
  return new ValidationError(
    'blobs.getStream',
    [
      {
        path: 'range',
        message: `starting at byte ${start} is past the end of ${JSON.stringify(key)} (${size} bytes)`,
      },
    ],
    { details: { key, start, size } },
  )
}
