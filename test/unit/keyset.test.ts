import { pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core'
import { describe, expect, it } from 'vitest'
import { ValidationError } from '../../src/errors.js'
import {
  decodeCursor,
  encodeCursor,
  type KeysetColumn,
  orderingFingerprint,
} from '../../src/repositories/keyset.js'

const t = pgTable('t', { id: uuid('id').primaryKey(), name: text('name'), at: timestamp('at') })
const byAtThenId: KeysetColumn[] = [
  { key: 'at', column: t.at, direction: 'desc' },
  { key: 'id', column: t.id, direction: 'asc' },
]
const byName: KeysetColumn[] = [
  { key: 'name', column: t.name, direction: 'asc' },
  { key: 'id', column: t.id, direction: 'asc' },
]

const refusal = (fn: () => unknown) => {
  try {
    fn()
  } catch (error) {
    return error
  }
  throw new Error('expected a refusal')
}

describe('keyset cursors (pure)', () => {
  it('round-trip the exact text values, nulls included', () => {
    const values = ['2026-12-02 10:00:00.123456+00', null]
    const cursor = encodeCursor(byAtThenId, values)
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/)
    expect(decodeCursor(byAtThenId, cursor, 'x.findPage')).toEqual(values)
  })

  it('tie a cursor to its ordering: direction and columns both count', () => {
    const flipped: KeysetColumn[] = [{ ...byAtThenId[0]!, direction: 'asc' }, byAtThenId[1]!]
    expect(orderingFingerprint(byAtThenId)).not.toBe(orderingFingerprint(flipped))
    const cursor = encodeCursor(byAtThenId, ['a', 'b'])
    const error = refusal(() => decodeCursor(byName, cursor, 'x.findPage'))
    expect(error).toBeInstanceOf(ValidationError)
    expect((error as ValidationError).issues).toEqual([
      { path: 'cursor', message: 'was made for another ordering' },
    ])
  })

  it.each([
    ['not base64 JSON', '%%%'],
    ['JSON of the wrong shape', Buffer.from('{"o":"x","v":1}').toString('base64url')],
    ['too few values', Buffer.from('{"o":"x","v":["a"]}').toString('base64url')],
    ['a non-string value', Buffer.from('{"o":"x","v":["a",2]}').toString('base64url')],
    ['an empty string', ''],
  ])('refuse %s with a VALIDATION issue on cursor', (_, cursor) => {
    const error = refusal(() => decodeCursor(byAtThenId, cursor, 'x.findPage'))
    expect(error).toBeInstanceOf(ValidationError)
    expect((error as ValidationError).code).toBe('VALIDATION')
    expect((error as ValidationError).issues[0]?.path).toBe('cursor')
  })
})
