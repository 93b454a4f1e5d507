import { describe, expect, it } from 'vitest'
import { isStratumError } from '../../src/errors.js'
import { assertBlobKey, assertBlobPrefix, MAX_BLOB_KEY_BYTES } from '../../src/storage/blob-key.js'

const reason = (fn: () => void): string | undefined => {
  try {
    fn()
    return undefined
  } catch (error) {
    if (!isStratumError(error) || error.code !== 'INVALID_KEY') throw error
    return String(error.details.reason)
  }
}

describe('blob keys (pure)', () => {
  it.each([
    'a',
    'avatars/u1.png',
    'deep/a/b/c.txt',
    'ünïcødé/名前.txt',
    'x'.repeat(MAX_BLOB_KEY_BYTES),
  ])('accepts %j', (key) => {
    expect(reason(() => assertBlobKey(key))).toBeUndefined()
  })

  it.each([
    ['', 'is empty'],
    ['x'.repeat(MAX_BLOB_KEY_BYTES + 1), `is longer than ${MAX_BLOB_KEY_BYTES} bytes in UTF-8`],
    ['é'.repeat(513), `is longer than ${MAX_BLOB_KEY_BYTES} bytes in UTF-8`],
    ['a\uD800b', 'is not valid UTF-8 (it has a lone surrogate)'],
    ['a\nb', 'contains a control character'],
    ['a\u0085b', 'contains a control character'],
    ['a\\b', 'contains a backslash'],
    ['/a', 'starts with /'],
    ['a/../b', 'has a .. segment'],
    ['a/./b', 'has a . segment'],
    ['a//b', 'has an empty segment (//)'],
    ['a/', 'ends with /'],
  ])('refuses %j: %s', (key, why) => {
    expect(reason(() => assertBlobKey(key))).toBe(why)
  })

  it('refuses what is not a string without calling its toString', () => {
    expect(reason(() => assertBlobKey(Object.create(null)))).toBe('is not a string')
    expect(reason(() => assertBlobKey(['a']))).toBe('is not a string')
  })

  it('takes a trailing slash in a prefix, and an empty prefix, but not .. in one', () => {
    expect(reason(() => assertBlobPrefix('avatars/'))).toBeUndefined()
    expect(reason(() => assertBlobPrefix(''))).toBeUndefined()
    expect(reason(() => assertBlobPrefix('../'))).toBe('(a prefix) has a .. segment')
  })
})
