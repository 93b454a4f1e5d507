import { createHash, randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import type { BlobStore } from '../../storage/blob-store.js'
import type { TestApi } from './test-api.js'

/** One mebibyte. */
export const MiB = 1024 * 1024

/** The SHA-256 of `bytes`, in hex. */
export const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')

/** The SHA-256 and size of everything `stream` yields. */
export async function sha256OfStream(stream: Readable): Promise<{ hash: string; size: number }> {
  const hash = createHash('sha256')
  let size = 0
  for await (const chunk of stream) {
    hash.update(chunk as Buffer)
    size += (chunk as Buffer).byteLength
  }
  return { hash: hash.digest('hex'), size }
}

/**
 * A stream of `size` random bytes in 1 MiB chunks (no length known up front), whose
 * SHA-256 is ready once it has been read; `failAt` makes it error after that many bytes.
 */
export function randomStream(size: number, failAt?: number) {
  const hash = createHash('sha256')
  let sent = 0
  const stream = new Readable({
    read() {
      if (failAt !== undefined && sent >= failAt) {
        this.destroy(new Error('the source broke halfway'))
        return
      }
      if (sent >= size) {
        this.push(null)
        return
      }
      const chunk = randomBytes(Math.min(MiB, size - sent))
      hash.update(chunk)
      sent += chunk.byteLength
      this.push(chunk)
    },
  })
  return { stream, digest: () => hash.digest('hex') }
}

/** Awaits a promise that must reject with a `StratumError` of `code`; returns the error. */
export const codeChecker =
  (expect: TestApi['expect']) =>
  async (promise: Promise<unknown>, code: string): Promise<Error> => {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error, `expected a ${code} error`).toBeInstanceOf(Error)
    expect((error as { code?: string }).code).toBe(code)
    return error as Error
  }

/** Runs `fn` over `items`, at most `limit` at a time. */
export async function inParallel<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
) {
  let next = 0
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await fn(items[next++]!)
    }),
  )
}

/** Sorted as S3 sorts keys: by UTF-8 bytes ('zz' before 'ü'). */
export const byBytes = (keys: string[]) =>
  [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))

/** Every key the store lists under `prefix`. */
export async function allKeys(store: BlobStore, prefix = ''): Promise<string[]> {
  const keys: string[] = []
  for await (const item of store.listAll({ prefix })) keys.push(item.key)
  return keys
}
