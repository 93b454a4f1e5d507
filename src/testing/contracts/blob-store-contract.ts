import { randomBytes, randomUUID } from 'node:crypto'
import type { BlobStore } from '../../storage/blob-store.js'
import {
  allKeys,
  byBytes,
  codeChecker,
  inParallel,
  MiB,
  randomStream,
  sha256,
  sha256OfStream,
} from './blob-contract-helpers.js'
import type { TestApi } from './test-api.js'

/** What a driver can do, so one suite covers drivers with and without a capability. */
export interface BlobCapabilities {
  /** Signed URLs that `fetch` can use (S3); others must throw UNSUPPORTED. */
  readonly signedUrls: boolean
  /**
   * The backend refuses a signed URL used for another key. s3rver accepts any SigV4
   * signature (it does not implement the check); S3 and MinIO refuse.
   */
  readonly verifiesSignatures: boolean
  /**
   * Readers see the old object or the new one while it is replaced. Every driver here
   * is (S3 by design, fs by rename, memory by construction); s3rver writes in place and
   * resets the reader's connection.
   */
  readonly atomicReplace: boolean
}

/** A store under test, on a prefix of its own. */
export interface OpenedStore {
  readonly store: BlobStore
  close(): Promise<void>
}

/**
 * The BlobStore contract: every driver (memory, filesystem, S3) must pass it, and so
 * should a third-party driver. `open` returns a store on a prefix (or directory) no other
 * run uses; `capabilities` says what the backend cannot do (the tests of it are skipped,
 * or check for `UNSUPPORTED`).
 *
 * @example
 * ```ts
 * import { afterAll, beforeAll, describe, expect, it } from 'vitest'
 * import { BlobStore } from 'stratum-data/storage'
 * import { blobStoreContract, uniquePrefix } from 'stratum-data/testing/contracts'
 *
 * blobStoreContract({ afterAll, beforeAll, describe, expect, it }, 'gcs', { signedUrls: true, verifiesSignatures: true, atomicReplace: true }, async () => {
 *   const store = new BlobStore(myGcsDriver(), { prefix: uniquePrefix() })
 *   return { store, close: () => store.close() }
 * })
 * ```
 */
export function blobStoreContract(
  api: TestApi,
  name: string,
  capabilities: BlobCapabilities,
  open: () => Promise<OpenedStore>,
): void {
  const { describe, it, expect, beforeAll, afterAll } = api
  const expectCode = codeChecker(expect)
  describe(`BlobStore contract: ${name}`, () => {
    let opened: OpenedStore
    let store: BlobStore
    beforeAll(async () => {
      opened = await open()
      store = opened.store
    })
    afterAll(async () => {
      await opened?.close()
    })

    it('puts and gets text, bytes and empty bodies, with head and exists', async () => {
      await store.put('basics/text.txt', 'héllo wörld', {
        contentType: 'text/plain; charset=utf-8',
      })
      expect((await store.get('basics/text.txt')).toString('utf8')).toBe('héllo wörld')
      const bytes = new Uint8Array([0, 1, 2, 255])
      await store.put('basics/bytes.bin', bytes)
      expect([...(await store.get('basics/bytes.bin'))]).toEqual([0, 1, 2, 255])
      await store.put('basics/empty', new Uint8Array())
      expect((await store.get('basics/empty')).byteLength).toBe(0)

      const head = await store.head('basics/text.txt')
      expect(head.key).toBe('basics/text.txt')
      expect(head.size).toBe(Buffer.byteLength('héllo wörld'))
      expect(head.contentType).toBe('text/plain; charset=utf-8')
      expect(head.etag).toMatch(/^".+"$/)
      expect(head.lastModified).toBeInstanceOf(Date)
      expect(Math.abs(head.lastModified.getTime() - Date.now())).toBeLessThan(5 * 60_000)
      expect((await store.head('basics/bytes.bin')).contentType).toBe('application/octet-stream')
      expect(await store.exists('basics/bytes.bin')).toBe(true)
      expect(await store.exists('basics/nothing')).toBe(false)
    })

    it('round-trips metadata and cache control, and a rewrite changes the etag', async () => {
      const metadata = { owner: 'user-42', source_app: 'tests', empty: '' }
      await store.put('meta/a.json', '{"v":1}', {
        contentType: 'application/json',
        cacheControl: 'public, max-age=60',
        metadata,
      })
      const first = await store.head('meta/a.json')
      expect(first.metadata).toEqual(metadata)
      expect(first.cacheControl).toBe('public, max-age=60')
      await store.put('meta/a.json', '{"v":2}', { contentType: 'application/json' })
      const second = await store.head('meta/a.json')
      expect(second.etag).not.toBe(first.etag)
      expect(second.metadata).toEqual({})
    })

    it('reports NOT_FOUND for a missing key on every read, and deletes idempotently', async () => {
      await expectCode(store.get('missing/key'), 'NOT_FOUND')
      await expectCode(store.head('missing/key'), 'NOT_FOUND')
      await expectCode(store.getStream('missing/key'), 'NOT_FOUND')
      await expectCode(store.copy('missing/key', 'missing/copy'), 'NOT_FOUND')
      await expectCode(store.move('missing/key', 'missing/moved'), 'NOT_FOUND')
      await store.delete('missing/key')
      await store.put('missing/there', 'x')
      await store.delete('missing/there')
      await store.delete('missing/there')
      expect(await store.exists('missing/there')).toBe(false)
      expect(await store.exists('missing/copy')).toBe(false)
    })

    it('returns exactly what went in (SHA-256) for empty, 1-byte and 5 MiB + 1 bodies', async () => {
      for (const size of [0, 1, 5 * MiB + 1]) {
        const body = randomBytes(size)
        await store.put(`exact/${size}`, body)
        const back = await store.get(`exact/${size}`)
        expect(back.byteLength).toBe(size)
        expect(sha256(back)).toBe(sha256(body))
        const streamed = await sha256OfStream(await store.getStream(`exact/${size}`))
        expect(streamed).toEqual({ hash: sha256(body), size })
        expect((await store.head(`exact/${size}`)).size).toBe(size)
      }
    })

    it('streams a 64 MiB upload of unknown length and reads back the same SHA-256, with progress', async () => {
      const size = 64 * MiB
      const { stream, digest } = randomStream(size)
      const progress: number[] = []
      await store.put('exact/64mib', stream, {
        contentType: 'application/octet-stream',
        onProgress: (p) => progress.push(p.loaded),
      })
      const sent = digest()
      expect(progress.length).toBeGreaterThan(0)
      expect(progress.at(-1)).toBe(size)
      for (let i = 1; i < progress.length; i++)
        expect(progress[i]!).toBeGreaterThanOrEqual(progress[i - 1]!)
      expect((await store.head('exact/64mib')).size).toBe(size)
      expect(await sha256OfStream(await store.getStream('exact/64mib'))).toEqual({
        hash: sent,
        size,
      })
      await store.delete('exact/64mib')
    })

    it('accepts a web ReadableStream body', async () => {
      const body = randomBytes(100_000)
      const web = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(body.subarray(0, 50_000))
          controller.enqueue(body.subarray(50_000))
          controller.close()
        },
      })
      await store.put('web/stream', web)
      expect(sha256(await store.get('web/stream'))).toBe(sha256(body))
    })

    it('reads byte ranges (inclusive ends, clipped at the end, VALIDATION past it)', async () => {
      const body = Buffer.from('0123456789abcdef')
      await store.put('range/x', body)
      const read = async (range: { start: number; end?: number }) => {
        const chunks: Buffer[] = []
        for await (const c of await store.getStream('range/x', { range })) chunks.push(c as Buffer)
        return Buffer.concat(chunks).toString()
      }
      expect(await read({ start: 0, end: 3 })).toBe('0123')
      expect(await read({ start: 10 })).toBe('abcdef')
      expect(await read({ start: 15, end: 15 })).toBe('f')
      expect(await read({ start: 12, end: 1000 })).toBe('cdef')
      await expectCode(read({ start: 16 }), 'VALIDATION')
      await expectCode(store.getStream('range/x', { range: { start: 5, end: 2 } }), 'VALIDATION')
      await expectCode(store.getStream('range/x', { range: { start: -1 } }), 'VALIDATION')
    })

    describe('listing 2,500 keys', () => {
      const keys: string[] = []
      for (let i = 0; i < 2500; i++) keys.push(`list/d${i % 5}/k${String(i).padStart(4, '0')}`)
      const top = ['list/top-a', 'list/top-b', 'list/ümlaut', 'list/zz']
      beforeAll(async () => {
        await inParallel([...keys, ...top], 32, (key) => store.put(key, key))
      }, 300_000)

      it('pages through every key in UTF-8 byte order, 1,000 at a time', async () => {
        const pages: string[][] = []
        let cursor: string | undefined
        do {
          const page = await store.list({ prefix: 'list/', ...(cursor ? { cursor } : {}) })
          expect(page.prefixes).toEqual([])
          pages.push(page.items.map((i) => i.key))
          cursor = page.cursor
        } while (cursor)
        expect(pages.map((p) => p.length)).toEqual([1000, 1000, 504])
        const listed = pages.flat()
        const expected = byBytes([...keys, ...top])
        expect(listed).toEqual(expected)
        const item = (await store.list({ prefix: 'list/d1/k0001', limit: 1 })).items[0]!
        expect(item).toMatchObject({ key: 'list/d1/k0001', size: 'list/d1/k0001'.length })
        expect(item.lastModified).toBeInstanceOf(Date)
        expect(await allKeys(store, 'list/')).toEqual(expected)
      })

      it('rolls keys up into common prefixes with a delimiter, across pages', async () => {
        const first = await store.list({ prefix: 'list/', delimiter: '/', limit: 3 })
        expect(first.prefixes).toEqual(['list/d0/', 'list/d1/', 'list/d2/'])
        expect(first.items).toEqual([])
        const second = await store.list({
          prefix: 'list/',
          delimiter: '/',
          limit: 3,
          cursor: first.cursor!,
        })
        expect(second.prefixes).toEqual(['list/d3/', 'list/d4/'])
        expect(second.items.map((i) => i.key)).toEqual(['list/top-a'])
        const pages: { items: string[]; prefixes: string[] }[] = []
        for await (const page of store.listPages({ prefix: 'list/', delimiter: '/', limit: 4 }))
          pages.push({ items: page.items.map((i) => i.key), prefixes: [...page.prefixes] })
        expect(pages.flatMap((p) => p.prefixes)).toEqual([
          'list/d0/',
          'list/d1/',
          'list/d2/',
          'list/d3/',
          'list/d4/',
        ])
        expect(pages.flatMap((p) => p.items)).toEqual(byBytes(top))
        const inner: string[] = []
        for await (const page of store.listPages({
          prefix: 'list/d3/',
          delimiter: '/',
          limit: 200,
        })) {
          expect(page.prefixes).toEqual([])
          inner.push(...page.items.map((i) => i.key))
        }
        expect(inner).toEqual(keys.filter((k) => k.startsWith('list/d3/')).sort())
      })

      it('deletes them all in batches with deleteMany', async () => {
        const result = await store.deleteMany([...keys, ...top])
        expect(result.errors).toEqual([])
        expect(await allKeys(store, 'list/')).toEqual([])
        expect(await store.exists(keys[0]!)).toBe(false)
      }, 120_000)
    })

    it('copies and moves objects with their metadata', async () => {
      await store.put('cm/source', 'payload', {
        contentType: 'text/plain',
        metadata: { tag: 'one' },
      })
      await store.copy('cm/source', 'cm/copy')
      expect((await store.get('cm/copy')).toString()).toBe('payload')
      expect(await store.head('cm/copy')).toMatchObject({
        contentType: 'text/plain',
        metadata: { tag: 'one' },
      })
      expect(await store.exists('cm/source')).toBe(true)
      await store.move('cm/copy', 'cm/deeper/moved')
      expect(await store.exists('cm/copy')).toBe(false)
      expect((await store.get('cm/deeper/moved')).toString()).toBe('payload')
      expect((await store.head('cm/deeper/moved')).metadata).toEqual({ tag: 'one' })
      await store.put('cm/source', 'newer')
      await store.copy('cm/source', 'cm/deeper/moved')
      expect((await store.get('cm/deeper/moved')).toString()).toBe('newer')
    })

    describe('an upload that stops halfway leaves no object', () => {
      it('when the body stream fails (new key and existing key)', async () => {
        const { stream } = randomStream(40 * MiB, 12 * MiB)
        await expect(store.put('abort/stream-error', stream)).rejects.toThrow()
        expect(await store.exists('abort/stream-error')).toBe(false)
        await store.put('abort/kept', 'old value')
        const { stream: again } = randomStream(40 * MiB, 12 * MiB)
        await expect(store.put('abort/kept', again)).rejects.toThrow()
        expect((await store.get('abort/kept')).toString()).toBe('old value')
      })

      it('when the caller aborts (ABORTED), before or during the upload', async () => {
        const controller = new AbortController()
        const { stream } = randomStream(40 * MiB)
        let fired = false
        const put = store.put('abort/signal', stream, {
          signal: controller.signal,
          onProgress: (p) => {
            if (!fired && p.loaded >= 6 * MiB) {
              fired = true
              controller.abort()
            }
          },
        })
        // Some drivers report progress only per part; abort on time as well.
        const timer = setTimeout(() => controller.abort(), 2000)
        await expectCode(put, 'ABORTED')
        clearTimeout(timer)
        expect(await store.exists('abort/signal')).toBe(false)
        await expectCode(store.put('abort/pre', 'x', { signal: AbortSignal.abort() }), 'ABORTED')
        expect(await store.exists('abort/pre')).toBe(false)
        expect(await allKeys(store, 'abort/')).toEqual(['abort/kept'])
      })
    })

    it('rejects unsafe keys with INVALID_KEY before writing anything', async () => {
      const unsafe = [
        '',
        '../escape',
        'a/../../escape',
        'a/..',
        '..',
        '/etc/passwd',
        '/absolute',
        'a\\b',
        '..\\..\\windows',
        'nul\u0000byte',
        'new\nline',
        'del\u007f',
        'a//b',
        'trailing/',
        './dot',
        'a/./b',
        'x'.repeat(1025),
        'é'.repeat(513),
        'lone\ud800surrogate',
      ]
      const before = await allKeys(store)
      for (const key of unsafe) {
        await expectCode(store.put(key, 'x'), 'INVALID_KEY')
        await expectCode(store.get(key), 'INVALID_KEY')
        await expectCode(store.delete(key), 'INVALID_KEY')
        await expectCode(store.copy('basics/text.txt', key), 'INVALID_KEY')
        await expectCode(store.signedUrl(key), 'INVALID_KEY')
      }
      await expectCode(store.list({ prefix: '../' }), 'INVALID_KEY')
      await expectCode(store.deleteMany(['ok', '../no']), 'INVALID_KEY')
      expect(await allKeys(store)).toEqual(before)
      // The longest allowed key (1,024 bytes, with the store's prefix) works. Its segments
      // stay under 250 bytes: file-backed stores (the fs driver, s3rver) keep each segment
      // as a file name, which filesystems cap at 255 bytes.
      const room = 1024 - Buffer.byteLength(store.prefix)
      const longest = Array.from({ length: Math.ceil(room / 201) }, () => 'k'.repeat(200))
        .join('/')
        .slice(0, room)
        .replace(/\/$/, 'k')
      await store.put(longest, 'fits')
      expect((await store.get(longest)).toString()).toBe('fits')
      await store.delete(longest)
    })

    it('rejects bad options and bodies with VALIDATION, writing nothing', async () => {
      await expectCode(
        store.put('bad/meta', 'x', { metadata: { 'Upper-Case': 'x' } }),
        'VALIDATION',
      )
      await expectCode(store.put('bad/meta', 'x', { metadata: { ok: 'naïve' } }), 'VALIDATION')
      await expectCode(
        store.put('bad/meta', 'x', { metadata: { big: 'x'.repeat(3000) } }),
        'VALIDATION',
      )
      await expectCode(store.put('bad/meta', 'x', { contentType: 'not a type' }), 'VALIDATION')
      await expectCode(store.put('bad/body', 42 as never), 'VALIDATION')
      await expectCode(store.put('bad/body', { evil: true } as never), 'VALIDATION')
      await expectCode(store.list({ limit: 0 }), 'VALIDATION')
      await expectCode(store.list({ limit: 1001 }), 'VALIDATION')
      await expectCode(store.signedUrl('bad/url', { expiresIn: 0 }), 'VALIDATION')
      expect(await allKeys(store, 'bad/')).toEqual([])
    })

    ;(capabilities.atomicReplace ? it : it.skip)(
      'never lets a reader see half an object while it is being replaced',
      async () => {
        const size = 2 * MiB
        const versions = ['a', 'b', 'c'].map((c) => Buffer.alloc(size, c))
        const hashes = new Set(versions.map(sha256))
        await store.put('atomic/x', versions[0]!)
        let writing = true
        const writer = (async () => {
          for (let i = 1; i <= 15; i++) await store.put('atomic/x', versions[i % 3]!)
          writing = false
        })()
        let reads = 0
        while (writing || reads < 5) {
          const bytes = await store.get('atomic/x')
          expect(bytes.byteLength).toBe(size)
          expect(hashes.has(sha256(bytes))).toBe(true)
          reads += 1
        }
        await writer
        expect(reads).toBeGreaterThan(0)
      },
    )

    it('signs GET and PUT URLs that fetch can use, or says UNSUPPORTED', async () => {
      if (!capabilities.signedUrls) {
        const error = await expectCode(store.signedUrl('signed/x'), 'UNSUPPORTED')
        expect(error.message).toMatch(new RegExp(store.kind))
        return
      }
      await store.put('signed/get', 'signed bytes', { contentType: 'text/plain' })
      const getUrl = await store.signedUrl('signed/get', { expiresIn: 60 })
      const got = await fetch(getUrl)
      expect(got.status).toBe(200)
      expect(await got.text()).toBe('signed bytes')

      const putUrl = await store.signedUrl('signed/put', {
        method: 'PUT',
        expiresIn: 60,
        contentType: 'image/png',
      })
      // A signed PUT must not carry the SDK's checksum of an empty body (S3 would refuse
      // every real upload through it).
      expect(putUrl).not.toMatch(/x-amz-checksum|x-amz-sdk-checksum/i)
      const body = randomBytes(300_000)
      const put = await fetch(putUrl, {
        method: 'PUT',
        body,
        headers: { 'content-type': 'image/png' },
      })
      expect(put.status).toBe(200)
      expect(sha256(await store.get('signed/put'))).toBe(sha256(body))
      expect((await store.head('signed/put')).contentType).toBe('image/png')

      if (capabilities.verifiesSignatures) {
        const tampered = getUrl.replace('signed/get', 'signed/put')
        expect(tampered).not.toBe(getUrl)
        expect((await fetch(tampered)).status).toBe(403)
      }
    })

    it('counts what it does', () => {
      const stats = store.stats()
      expect(stats.puts).toBeGreaterThan(2500)
      expect(stats.bytesWritten).toBeGreaterThan(64 * MiB)
      expect(stats.gets).toBeGreaterThan(0)
      expect(stats.lists).toBeGreaterThan(0)
      expect(stats.errors).toBeGreaterThan(0)
    })

    it('answers ping', async () => {
      await store.ping()
    })
  })
}

/** A prefix no other run uses. */
export function uniquePrefix(): string {
  return `t-${randomUUID().slice(0, 8)}/`
}
