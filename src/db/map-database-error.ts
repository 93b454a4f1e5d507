import { StratumError, type StratumErrorCode, ValidationError } from '../errors.js'
import { tlsFailureOf } from '../util/tls-failure.js'

interface PgLikeError {
  code?: string
  message?: string
  constraint?: string
  table?: string
  column?: string
  detail?: string
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
])

/**
 * Messages of connections that broke or never opened (pg has no code for these). A lost
 * connection is UNAVAILABLE, retriable, however the driver words it.
 */
const CONNECTION_LOST =
  /Connection terminated|not queryable|Client was closed|Connection ended|connection timeout|timeout exceeded when trying to connect|terminating connection/i

/** The messages among those of a connection that was open and broke during a call. */
const LOST_MID_CALL_MESSAGE = /Connection terminated unexpectedly|not queryable|Connection ended/i

/** Network errors and SQLSTATEs that mean the connection broke after it was open. */
const LOST_MID_CALL = new Set(['ECONNRESET', 'EPIPE', '57P01', '57P02', '57P03'])

/**
 * Whether `error` is a connection that broke while a call was in flight (as opposed to
 * one that could not be opened): a write sent on it may or may not have committed.
 * @internal
 */
export function isLostMidCall(error: unknown): boolean {
  const driver = findDriverError(error)
  if (driver?.code) return LOST_MID_CALL.has(driver.code)
  return error instanceof Error && LOST_MID_CALL_MESSAGE.test(error.message)
}

/**
 * Takes the SQL text, parameters and values off a driver error before it becomes a
 * `cause`: PGlite puts `query` and `params` on its errors, and the server's `detail` of a
 * unique violation repeats the value (`Key (lower(email))=(ada@example.com)`), so a logger
 * printing the cause would print a user's email. They stay readable as properties, just not enumerated (printed).
 */
function withoutQuery<T>(error: T): T {
  if (typeof error !== 'object' || error === null) return error
  for (const field of ['query', 'params', 'queryOptions', 'detail', 'internalQuery']) {
    if (Object.hasOwn(error, field)) Object.defineProperty(error, field, { enumerable: false })
  }
  return error
}

/** Finds the driver error (with a SQLSTATE or a network code) inside wrapper errors. */
function findDriverError(error: unknown): PgLikeError | undefined {
  let current: unknown = error
  for (let depth = 0; depth < 5 && current; depth++) {
    if (typeof current === 'object' && typeof (current as PgLikeError).code === 'string') {
      return current as PgLikeError
    }
    current = (current as { cause?: unknown }).cause
  }
  return undefined
}

/**
 * The SQLSTATE of a driver error, found inside wrapper errors (Drizzle's among them), or
 * undefined.
 * @internal
 */
export function sqlStateOf(error: unknown): string | undefined {
  return findDriverError(error)?.code
}

/** A StratumError thrown inside a driver or Drizzle call, found in the `cause` chain. */
function findStratumError(error: unknown): StratumError | undefined {
  let current: unknown = error
  for (let depth = 0; depth < 5 && current; depth++) {
    if (current instanceof StratumError) return current
    current = (current as { cause?: unknown }).cause
  }
  return undefined
}

function classify(sqlState: string): StratumErrorCode {
  if (sqlState === '23505') return 'CONFLICT'
  if (sqlState === '23503') return 'NOT_FOUND'
  if (sqlState === '57014') return 'TIMEOUT'
  if (sqlState === '40001' || sqlState === '40P01') return 'SERIALIZATION_FAILURE'
  if (sqlState.startsWith('22') || sqlState.startsWith('23')) return 'VALIDATION'
  if (
    sqlState.startsWith('08') ||
    sqlState.startsWith('28') ||
    sqlState.startsWith('53') ||
    sqlState.startsWith('57') ||
    sqlState === '3D000'
  ) {
    return 'UNAVAILABLE'
  }
  return 'DATABASE'
}

function describe(code: StratumErrorCode, driver: PgLikeError, operation: string): string {
  const where = driver.table ? ` on ${driver.table}` : ''
  switch (code) {
    case 'CONFLICT':
      // A primary key conflict is how a retried create with a client-chosen id shows up.
      if (driver.constraint?.endsWith('_pkey'))
        return `${operation}: a row with this id already exists${where} (constraint ${driver.constraint}); a retry of a create that succeeded can read it by id`
      return `${operation}: a row with the same unique value already exists${where} (constraint ${driver.constraint ?? 'unknown'})`
    case 'NOT_FOUND':
      return `${operation}: a referenced row does not exist${where} (constraint ${driver.constraint ?? 'unknown'})`
    case 'TIMEOUT':
      return `${operation}: the statement timed out and was cancelled`
    case 'SERIALIZATION_FAILURE':
      return `${operation}: the transaction conflicted with a concurrent one; retry it`
    default:
      return `${operation}: ${driver.message ?? 'database error'}`
  }
}

/**
 * Turns any error from pg, PGlite or Drizzle into a {@link StratumError}. The original
 * driver error is kept as `cause`; the SQL text and parameters never enter the message.
 * @internal
 */
export function mapDatabaseError(error: unknown, operation: string): StratumError {
  const ours = findStratumError(error)
  if (ours) return ours
  const tls = tlsFailureOf(error, 'database.tls')
  if (tls)
    return new StratumError('TLS', `${operation}: TLS connection refused: ${tls.fix}`, {
      cause: withoutQuery(innermost(error)),
      details: { tls: tls.reason, ...(tls.errno ? { errno: tls.errno } : {}) },
    })
  const driver = findDriverError(error)
  // Drizzle's wrapper carries the SQL and parameters in its message: never the cause.
  const cause = withoutQuery(driver ?? safeCause(innermost(error)))
  if (!driver?.code) {
    const message = firstLine(error instanceof Error ? error.message : String(error))
    const lost = [error, cause].find(
      (e) => e instanceof Error && CONNECTION_LOST.test(e.message),
    ) as Error | undefined
    if (lost) {
      return new StratumError(
        'UNAVAILABLE',
        `${operation}: the database is unreachable (${firstLine(lost.message)})`,
        { cause },
      )
    }
    return new StratumError('DATABASE', `${operation}: ${firstLine(message)}`, { cause })
  }
  if (NETWORK_CODES.has(driver.code)) {
    return new StratumError(
      'UNAVAILABLE',
      `${operation}: the database is unreachable (${driver.code})`,
      { cause, details: { errno: driver.code } },
    )
  }
  const code = classify(driver.code)
  const details = {
    sqlState: driver.code,
    ...(driver.constraint ? { constraint: driver.constraint } : {}),
    ...(driver.table ? { table: driver.table } : {}),
    ...(driver.column ? { column: driver.column } : {}),
  }
  // Data the server refused (a check, a not-null, a value out of range): a VALIDATION
  // error with its issue, on the column when the server names one.
  if (code === 'VALIDATION')
    return new ValidationError(
      operation,
      [{ path: driver.column ?? '', message: driver.message ?? 'the database refused the value' }],
      { cause, details },
    )
  return new StratumError(code, describe(code, driver, operation), { cause, details })
}

/** A Drizzle "Failed query" error with no driver error inside is replaced by its first line. */
function safeCause(error: unknown): unknown {
  if (error instanceof Error && error.message.startsWith('Failed query:'))
    return new Error(firstLine(error.message))
  return error
}

/** The error a wrapper (Drizzle's "Failed query") was made from, or `error` itself. */
function innermost(error: unknown): unknown {
  let current = error
  for (let depth = 0; depth < 5; depth++) {
    const next = (current as { cause?: unknown } | null)?.cause
    if (!(next instanceof Error)) return current
    current = next
  }
  return current
}

function firstLine(message: string): string {
  // Drizzle puts the SQL and its parameters after the first line ("Failed query: ...").
  const line = message.split('\n')[0] ?? message
  return line.startsWith('Failed query:') ? 'query failed' : line
}

/**
 * Whether a write that failed with `UNAVAILABLE` may still have committed: `'unknown'`
 * when the connection broke while the write (or its COMMIT) was on the wire, so retry it
 * only if it is idempotent (a client-chosen id makes it so); `'not-applied'` when it
 * certainly did not commit (the connection never opened, or broke inside a transaction
 * before COMMIT, which the server then rolls back).
 */
export type WriteOutcome = 'unknown' | 'not-applied'

/**
 * `error` with `details.outcome` set, when it is `UNAVAILABLE` and has none yet.
 * @internal
 */
export function withOutcome(error: StratumError, outcome: WriteOutcome): StratumError {
  if (error.code !== 'UNAVAILABLE' || error.details.outcome !== undefined) return error
  const said =
    outcome === 'unknown'
      ? ' (the write may or may not have committed: retry only if it is idempotent)'
      : ' (nothing was written)'
  return new StratumError(error.code, error.message + said, {
    cause: error.cause,
    details: { ...error.details, outcome },
  })
}

/**
 * Like {@link mapDatabaseError}, but returns errors that did not come from the database
 * (for example one a transaction callback threw on purpose) unchanged.
 * @internal
 */
export function mapIfDatabaseError(error: unknown, operation: string): unknown {
  const ours = findStratumError(error)
  if (ours) return ours
  return isDatabaseError(error) ? mapDatabaseError(error, operation) : error
}

/**
 * Whether `error` came from the database driver or Drizzle (a SQLSTATE or network code, a
 * "Failed query", a lost connection) rather than from the caller's own code.
 * @internal
 */
export function isDatabaseError(error: unknown): boolean {
  if (findDriverError(error)?.code) return true
  return (
    error instanceof Error &&
    (error.message.startsWith('Failed query:') || CONNECTION_LOST.test(error.message))
  )
}

/** Runs `fn`, rethrowing what it throws as {@link mapDatabaseError} maps it. @internal */
export async function withDatabaseErrors<R>(operation: string, fn: () => Promise<R>): Promise<R> {
  try {
    return await fn()
  } catch (error) {
    throw mapDatabaseError(error, operation)
  }
}
