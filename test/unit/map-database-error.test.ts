import { describe, expect, it } from 'vitest'
import {
  isLostMidCall,
  mapDatabaseError,
  sqlStateOf,
  withOutcome,
} from '../../src/db/map-database-error.js'
import { StratumError, ValidationError } from '../../src/errors.js'

/** A pg-shaped server error. */
const pgError = (code: string, fields: Record<string, string> = {}) =>
  Object.assign(new Error(fields.message ?? `server error ${code}`), {
    code,
    severity: 'ERROR',
    ...fields,
  })

describe('database error mapping (pure)', () => {
  it.each([
    ['23505', 'CONFLICT'],
    ['23503', 'NOT_FOUND'],
    ['57014', 'TIMEOUT'],
    ['40001', 'SERIALIZATION_FAILURE'],
    ['23514', 'VALIDATION'],
    ['22001', 'VALIDATION'],
  ])('SQLSTATE %s is %s', (code, expected) => {
    const mapped = mapDatabaseError(pgError(code), 'users.create')
    expect(mapped).toBeInstanceOf(StratumError)
    expect(mapped.code).toBe(expected)
    expect(mapped.details.sqlState).toBe(code)
    expect(sqlStateOf(mapped.cause)).toBe(code)
  })

  it('gives a VALIDATION from the server its issue, on the column when the server names one', () => {
    const mapped = mapDatabaseError(
      pgError('23502', {
        column: 'email',
        table: 'users',
        message: 'null value in column "email"',
      }),
      'users.create',
    )
    expect(mapped).toBeInstanceOf(ValidationError)
    expect((mapped as ValidationError).issues).toEqual([
      { path: 'email', message: 'null value in column "email"' },
    ])
    expect(mapped.details).toMatchObject({ table: 'users', column: 'email' })
  })

  it('says a primary-key conflict may be a retried create that succeeded', () => {
    const mapped = mapDatabaseError(
      pgError('23505', { constraint: 'users_pkey', table: 'users' }),
      'users.create',
    )
    expect(mapped.message).toContain('a row with this id already exists')
  })

  it('keeps an error that is already ours as it is', () => {
    const ours = new StratumError('NOT_FOUND', 'no such user')
    expect(mapDatabaseError(ours, 'x')).toBe(ours)
  })

  it('maps a refused or reset connection to UNAVAILABLE, and says what a write may have done', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), {
      code: 'ECONNREFUSED',
    })
    const mapped = mapDatabaseError(refused, 'connect')
    expect(mapped.code).toBe('UNAVAILABLE')
    const lost = new Error('Connection terminated unexpectedly')
    expect(isLostMidCall(lost)).toBe(true)
    const unknown = withOutcome(mapDatabaseError(lost, 'users.update'), 'unknown')
    expect(unknown.code).toBe('UNAVAILABLE')
    expect(unknown.details.outcome).toBe('unknown')
    expect(unknown.message).toContain('may or may not have committed')
    // Only UNAVAILABLE carries an outcome; another code is left alone.
    const conflict = mapDatabaseError(pgError('23505'), 'x')
    expect(withOutcome(conflict, 'unknown')).toBe(conflict)
  })

  it('never puts the query text or its parameters in the message', () => {
    const drizzle = Object.assign(
      new Error('Failed query: insert into users (email) values ($1)\nparams: secret@example.com'),
      { cause: pgError('23514', { message: 'new row violates check constraint' }) },
    )
    const mapped = mapDatabaseError(drizzle, 'users.create')
    expect(mapped.message).not.toContain('secret@example.com')
    expect(mapped.message).not.toContain('insert into')
  })
})
