import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { Cache, memoryDriver, redisDriver } from '../../src/cache/index.js'
import { BlobStore, fsBlobDriver, memoryBlobDriver } from '../../src/storage/index.js'
import { uniquePrefix } from '../../src/testing/contracts/index.js'
import { anyInput, anyText, propertyOptions, settle } from '../helpers/property.js'
import { openTestS3Store } from '../helpers/s3.js'

// Issue #17: generated blob keys and bodies on every blob driver, and cache keys and values
// on memory and Redis. A key is refused with INVALID_KEY before any I/O, or the bytes read
// back identical; the filesystem driver never writes outside its directory.

const segment = fc.oneof(
  fc.string({ minLength: 1, maxLength: 12 }),
  fc.constantFrom('..', '.', '', 'a', 'k.json', ' ', '%2e%2e', 'CON', '\\'),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 6 }),
)
const blobKey = fc.oneof(
  fc.array(segment, { minLength: 1, maxLength: 4 }).map((parts) => parts.join('/')),
  fc.array(segment, { minLength: 1, maxLength: 3 }).map((parts) => `/${parts.join('/')}`),
  anyInput,
)
const body = fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.string({ maxLength: 64 }))

interface Opened {
  readonly store: BlobStore
  close(): Promise<void>
  /** Files written anywhere next to the store's directory, for the filesystem driver. */
  outside?(): Promise<string[]>
}

const stores: [string, () => Promise<Opened>][] = [
  [
    'memory',
    async () => {
      const store = new BlobStore(memoryBlobDriver())
      return { store, close: () => store.close() }
    },
  ],
  [
    'fs',
    async () => {
      const parent = await mkdtemp(join(tmpdir(), 'stratum-prop-'))
      const dir = join(parent, 'blobs')
      const store = new BlobStore(fsBlobDriver({ dir, fsync: false }))
      return {
        store,
        outside: async () => (await readdir(parent)).filter((name) => name !== 'blobs'),
        async close() {
          await store.close()
          await rm(parent, { recursive: true, force: true })
        },
      }
    },
  ],
  ['s3', async () => openTestS3Store()],
]

for (const [name, open] of stores) {
  describe(`blob keys and bodies, generated [${name}]`, () => {
    let opened: Opened
    beforeAll(async () => {
      opened = await open()
    })
    afterAll(() => opened?.close())

    it('stores bytes under any valid key exactly, refuses the rest, and never leaves its directory', async () => {
      await fc.assert(
        fc.asyncProperty(blobKey, body, async (key, content) => {
          const result = await settle(
            () => opened.store.put(key as string, content),
            [
              'INVALID_KEY',
              'CONFLICT', // a key that is also another key's folder, on the filesystem only
            ],
          )
          if (result.ok) {
            const expected =
              typeof content === 'string' ? Buffer.from(content) : Buffer.from(content)
            expect(Buffer.compare(await opened.store.get(key as string), expected)).toBe(0)
            await opened.store.delete(key as string)
          } else if (result.code === 'CONFLICT') {
            expect(name).toBe('fs')
          } else {
            expect(await settle(() => opened.store.exists(key as string), ['INVALID_KEY'])).toEqual(
              { ok: false, code: 'INVALID_KEY' },
            )
          }
          if (opened.outside) expect(await opened.outside()).toEqual([])
        }),
        propertyOptions(name === 's3' ? 60 : 150),
      )
    })
  })
}

const caches: [string, () => Cache][] = [
  ['memory', () => new Cache(memoryDriver(), { prefix: `${uniquePrefix()}` })],
  [
    'redis',
    () => new Cache(redisDriver({ url: inject('redisUrl') }), { prefix: `${uniquePrefix()}` }),
  ],
]

for (const [name, make] of caches) {
  describe(`cache keys and values, generated [${name}]`, () => {
    let cache: Cache
    beforeAll(() => {
      cache = make()
    })
    afterAll(() => cache?.close())

    it('keeps any value it accepts exactly, and refuses bad keys and values with a documented code', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(fc.string({ minLength: 1, maxLength: 20 }), anyText, anyInput),
          fc.oneof(fc.jsonValue({ maxDepth: 3 }), anyInput),
          async (key, value) => {
            const result = await settle(
              () => cache.set(key as string, value),
              ['INVALID_KEY', 'VALIDATION'],
            )
            if (!result.ok) return
            expect(result.value).toBe(true)
            expect(await cache.get(key as string)).toEqual(value)
          },
        ),
        propertyOptions(150),
      )
    })
  })
}
