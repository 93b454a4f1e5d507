import { Readable } from 'node:stream'
import type { BlobDriver, BlobHead, BlobListItem, DriverPutOptions } from './blob-driver.js'
import { blobAborted, blobNotFound, blobUnsupported } from './blob-errors.js'
import { clipRange } from './byte-range.js'
import { compareKeys, pageOf } from './list-page.js'

interface StoredBlob {
  readonly bytes: Buffer
  readonly head: Omit<BlobHead, 'key'>
}

/**
 * Reads a body into one Buffer, reporting progress and stopping when `signal` fires.
 * @internal
 */
export async function collectBody(
  key: string,
  body: Uint8Array | Readable,
  options: Pick<DriverPutOptions, 'signal' | 'onProgress'>,
): Promise<Buffer> {
  if (!(body instanceof Readable)) {
    if (options.signal?.aborted) throw blobAborted(key, options.signal.reason)
    options.onProgress?.({ loaded: body.byteLength, total: body.byteLength })
    return Buffer.from(body.buffer, body.byteOffset, body.byteLength)
  }
  const chunks: Buffer[] = []
  let loaded = 0
  try {
    for await (const chunk of body) {
      if (options.signal?.aborted) throw blobAborted(key, options.signal.reason)
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer)
      chunks.push(bytes)
      loaded += bytes.byteLength
      options.onProgress?.({ loaded })
    }
  } finally {
    if (!body.destroyed) body.destroy()
  }
  return Buffer.concat(chunks, loaded)
}

/**
 * A blob driver in process memory, for tests and throwaway runs: nothing survives the
 * process. Signed URLs are `UNSUPPORTED` (there is no server to sign for).
 *
 * @example
 * ```ts
 * import { BlobStore, memoryBlobDriver } from 'stratum-data/storage'
 * const blobs = new BlobStore(memoryBlobDriver())
 * ```
 */
export function memoryBlobDriver(): BlobDriver {
  const blobs = new Map<string, StoredBlob>()
  let version = 0
  const find = (key: string): StoredBlob => {
    const found = blobs.get(key)
    if (!found) throw blobNotFound(key)
    return found
  }
  const itemOf = (key: string): BlobListItem => {
    const { head } = find(key)
    return { key, size: head.size, etag: head.etag, lastModified: head.lastModified }
  }
  return {
    kind: 'memory',
    async put(key, body, options: DriverPutOptions) {
      const bytes = Buffer.from(await collectBody(key, body, options))
      if (options.signal?.aborted) throw blobAborted(key, options.signal.reason)
      version += 1
      blobs.set(key, {
        bytes,
        head: {
          size: bytes.byteLength,
          contentType: options.contentType ?? 'application/octet-stream',
          etag: `"m${version.toString(16)}-${bytes.byteLength.toString(16)}"`,
          lastModified: new Date(),
          metadata: { ...options.metadata },
          ...(options.cacheControl === undefined ? {} : { cacheControl: options.cacheControl }),
        },
      })
    },
    async get(key) {
      return Buffer.from(find(key).bytes)
    },
    async getStream(key, range) {
      const { bytes } = find(key)
      const { start, end } = clipRange(key, range, bytes.byteLength)
      return Readable.from([Buffer.from(bytes.subarray(start, end + 1))], { objectMode: false })
    },
    async head(key) {
      const { head } = find(key)
      return { key, ...head, metadata: { ...head.metadata } }
    },
    async delete(key) {
      blobs.delete(key)
    },
    async deleteMany(keys) {
      for (const key of keys) blobs.delete(key)
      return { deleted: keys.length, errors: [] }
    },
    async list(options) {
      const keys = [...blobs.keys()].filter((k) => k.startsWith(options.prefix)).sort(compareKeys)
      return pageOf(keys, options, async (page) => page.map(itemOf))
    },
    async copy(from, to) {
      const source = find(from)
      version += 1
      blobs.set(to, {
        bytes: source.bytes,
        head: {
          ...source.head,
          etag: `"m${version.toString(16)}-${source.head.size.toString(16)}"`,
          lastModified: new Date(),
        },
      })
    },
    async move(from, to) {
      const source = find(from)
      blobs.set(to, source)
      if (from !== to) blobs.delete(from)
    },
    async signedUrl() {
      throw blobUnsupported('memory', 'sign URLs', 'use the S3 driver for signed URLs')
    },
    async ping() {},
    async close() {},
  }
}
