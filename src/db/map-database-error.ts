import { StratumError, type StratumErrorCode } from '../errors.js'

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
  const driver = findDriverError(error)
  const cause = driver ?? error
  if (!driver?.code) {
    const message = error instanceof Error ? error.message : String(error)
    if (
      /Connection terminated|connection timeout|timeout exceeded when trying to connect/i.test(
        message,
      )
    ) {
      return new StratumError(
        'UNAVAILABLE',
        `${operation}: the database is unreachable (${message})`,
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
  return new StratumError(code, describe(code, driver, operation), {
    cause,
    details: {
      sqlState: driver.code,
      ...(driver.constraint ? { constraint: driver.constraint } : {}),
      ...(driver.table ? { table: driver.table } : {}),
      ...(driver.column ? { column: driver.column } : {}),
    },
  })
}

function firstLine(message: string): string {
  // Drizzle puts the SQL and its parameters after the first line ("Failed query: ...").
  const line = message.split('\n')[0] ?? message
  return line.startsWith('Failed query:') ? 'query failed' : line
}

/**
 * Like {@link mapDatabaseError}, but returns errors that did not come from the database
 * (for example one a transaction callback threw on purpose) unchanged.
 * @internal
 */
export function mapIfDatabaseError(error: unknown, operation: string): unknown {
  const ours = findStratumError(error)
  if (ours) return ours
  const driver = findDriverError(error)
  const fromDrizzle = error instanceof Error && error.message.startsWith('Failed query:')
  return driver?.code || fromDrizzle ? mapDatabaseError(error, operation) : error
}
