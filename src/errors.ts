import { clip } from './util/clip.js'
import { redactSecrets } from './util/redact-secrets.js'

/** Longest message an error carries; the rest is cut (inputs are echoed clipped anyway). */
const MAX_MESSAGE_LENGTH = 2_000

/**
 * Every error code this library throws. Codes are stable: match on `error.code`,
 * never on the message.
 *
 * - `CONFIG`: an option is missing or invalid (the message names it).
 * - `VALIDATION`: input failed its schema; `issues` lists each field path.
 * - `NOT_FOUND`: the row (or the row a foreign key points at, or the blob) does not exist.
 * - `CONFLICT`: a unique constraint was violated (for example a duplicate email).
 * - `DIMENSION_MISMATCH`: the database's embedding column has another dimension than configured.
 * - `INVALID_KEY`: a cache (or blob) key is empty, too long or has unsafe characters.
 * - `UNAVAILABLE`: the database (or Redis, or the blob store) cannot be reached.
 * - `TIMEOUT`: a statement ran past its timeout and was cancelled.
 * - `SERIALIZATION_FAILURE`: a transaction lost a serialization or deadlock race; retry it.
 * - `TRANSACTION_MISUSE`: the outer data layer was used inside `data.transaction()`.
 * - `LOCKED`: an embedded database directory is open in another process.
 * - `CLOSED`: the data layer was used after `close()`.
 * - `DATABASE`: any other database error (the SQLSTATE is in `details.sqlState`).
 * - `UNSUPPORTED`: the configured backend cannot do this (the message says which and why).
 * - `ABORTED`: the caller's `AbortSignal` stopped the operation; nothing was written.
 * - `STORAGE`: any other blob-store error (the backend's code is in `details`).
 * - `INTEGRITY`: a backup's bytes or a restore's row counts differ from its manifest.
 * - `TLS`: a TLS connection was refused (an untrusted certificate, a host name it is not
 *   for, an expired one, or a server that requires or lacks TLS); `details.tls` says which
 *   and the message what to change. Not retriable: the configuration must change.
 */
export type StratumErrorCode =
  | 'CONFIG'
  | 'VALIDATION'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'DIMENSION_MISMATCH'
  | 'INVALID_KEY'
  | 'UNAVAILABLE'
  | 'TIMEOUT'
  | 'SERIALIZATION_FAILURE'
  | 'TRANSACTION_MISUSE'
  | 'LOCKED'
  | 'CLOSED'
  | 'DATABASE'
  | 'UNSUPPORTED'
  | 'ABORTED'
  | 'STORAGE'
  | 'INTEGRITY'
  | 'TLS'

/** One failed check of a validation: where (`path`) and why (`message`). */
export interface ValidationIssue {
  readonly path: string
  readonly message: string
}

/** Options accepted by every {@link StratumError} constructor. */
export interface StratumErrorOptions {
  readonly cause?: unknown
  readonly details?: Readonly<Record<string, unknown>>
}

/**
 * The one error type of stratum-data. Its `code` is stable; its message is meant for
 * a person and never contains a password or connection secret.
 *
 * @example
 * ```ts
 * try {
 *   await data.users.create({ email: 'ada@example.com' })
 * } catch (error) {
 *   if (error instanceof StratumError && error.code === 'CONFLICT') {
 *     // the email is taken
 *   }
 * }
 * ```
 */
export class StratumError extends Error {
  override readonly name: string = 'StratumError'
  readonly code: StratumErrorCode
  readonly details: Readonly<Record<string, unknown>>

  constructor(code: StratumErrorCode, message: string, options: StratumErrorOptions = {}) {
    super(
      clip(redactSecrets(message), MAX_MESSAGE_LENGTH),
      options.cause === undefined ? {} : { cause: options.cause },
    )
    this.code = code
    this.details = options.details ?? {}
  }
}

/** Input failed validation; `issues` has one entry per failing field. */
export class ValidationError extends StratumError {
  override readonly name = 'ValidationError'
  readonly issues: readonly ValidationIssue[]

  constructor(
    context: string,
    issues: readonly ValidationIssue[],
    options: StratumErrorOptions = {},
  ) {
    const summary = issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')
    super('VALIDATION', `${context}: ${summary}`, options)
    this.issues = issues
  }
}

/** An option given to `createDataLayer` is invalid. */
export class ConfigError extends StratumError {
  override readonly name = 'ConfigError'
  constructor(message: string, options: StratumErrorOptions = {}) {
    super('CONFIG', message, options)
  }
}

/** The database's embedding dimension differs from the configured one. */
export class DimensionMismatchError extends StratumError {
  override readonly name = 'DimensionMismatchError'
  readonly configured: number
  readonly actual: number

  constructor(configured: number, actual: number) {
    super(
      'DIMENSION_MISMATCH',
      `chat_vectors.embedding has ${actual} dimensions in the database but ${configured} are configured ` +
        `(embeddings.dimensions); use ${actual}, or migrate a new database with ${configured}`,
      { details: { configured, actual } },
    )
    this.configured = configured
    this.actual = actual
  }
}

/** True when `error` is a {@link StratumError}, optionally of the given code. */
export function isStratumError(error: unknown, code?: StratumErrorCode): error is StratumError {
  return error instanceof StratumError && (code === undefined || error.code === code)
}
