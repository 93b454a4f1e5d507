import { describe, expect, it } from 'vitest'
import { CACHE_DEFAULTS } from '../../src/cache/cache-options.js'
import { resolveOptions } from '../../src/config/options.js'
import { BLOB_DEFAULTS } from '../../src/storage/blob-options.js'

describe('the stated defaults', () => {
  it('cannot be changed by a caller for every data layer in the process', () => {
    expect(() => {
      ;(CACHE_DEFAULTS as { prefix: string }).prefix = 'mine:'
    }).toThrow(TypeError)
    expect(() => {
      ;(CACHE_DEFAULTS.redis as { commandTimeoutMs: number }).commandTimeoutMs = 1
    }).toThrow(TypeError)
    expect(() => {
      ;(BLOB_DEFAULTS as { partSizeBytes: number }).partSizeBytes = 1
    }).toThrow(TypeError)
  })

  it('are what the options schema fills in, and each layer gets objects of its own', () => {
    const a = resolveOptions({})
    const b = resolveOptions({})
    expect(a.cache).toMatchObject({
      prefix: CACHE_DEFAULTS.prefix,
      defaultTtlMs: CACHE_DEFAULTS.defaultTtlMs,
      memory: CACHE_DEFAULTS.memory,
      redis: CACHE_DEFAULTS.redis,
    })
    expect(a.blobs).toMatchObject({ partSizeBytes: BLOB_DEFAULTS.partSizeBytes })
    expect(a.cache.memory).not.toBe(b.cache.memory)
    expect(a.database.pool).not.toBe(b.database.pool)
  })
})
