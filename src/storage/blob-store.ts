import { Readable } from 'node:stream'
import { ReadableStream as WebReadableStream } from 'node:stream/web'
import { StratumError, ValidationError, type ValidationIssue } from '../errors.js'
import type {
  BlobDriver,
  BlobHead,
  BlobListItem,
  BlobListOptions,
  BlobPage,
  BlobProgress,
  BlobWriteOptions,
  ByteRange,
  DeleteManyResult,
  SignedUrlOptions,
} from './blob-driver.js'
import { assertBlobKey, assertBlobPrefix, MAX_BLOB_KEY_BYTES } from './blob-key.js'
import { BLOB_DEFAULTS, MIN_PART_BYTES } from './blob-options.js'

/** What `put` accepts: text (stored as UTF-8), bytes, or a Node or web stream. */
export type BlobBody = string | Uint8Array | ArrayBuffer | Readable | ReadableStream<Uint8Array>

/** Options of one `put`. */
export interface BlobPutOptions extends BlobWriteOptions {
  /** Aborts the upload (`ABORTED`); nothing becomes visible under the key. */
  readonly signal?: AbortSignal
  /** Called as bytes go out: `loaded` so far, `total` when the body's size is known. */
  readonly onProgress?: (progress: BlobProgress) => void
  /** Multipart part size for this upload (S3; at least 5 MiB). */
  readonly partSizeBytes?: number
  /** Parts uploaded at once for this upload (S3). */
  readonly queueSize?: number
}

/** Options of a {@link BlobStore}. */
export interface BlobStoreOptions {
  /**
   * Prepended to every key, so several apps (or test files) share one bucket or
   * directory without seeing each other's objects. Listings return keys without it.
   */
  readonly prefix?: string
  /** Multipart part size in bytes (S3; default 8 MiB, at least 5 MiB). */
  readonly partSizeBytes?: number
  /** Parts uploaded at once (S3; default 4). Memory used is about part size x queue size. */
  readonly queueSize?: number
}

/** Counters of a blob store since it was created. */
export interface BlobStats {
  puts: number
  gets: number
  heads: number
  deletes: number
  lists: number
  copies: number
  signedUrls: number
  bytesWritten: number
  /** Bytes returned by `get` (streams are not counted). */
  bytesRead: number
  /** Calls that failed, whatever the reason (missing keys included). */
  errors: number
}

const MAX_METADATA_BYTES = 2048
const METADATA_NAME = /^[a-z0-9][a-z0-9_-]*$/
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/
/** A MIME type with optional parameters: `image/png`, `text/plain; charset=utf-8`. */
export const MEDIA_TYPE = /^[\w!#$&^.+-]+\/[\w!#$&^.+-]+(\s*;.*)?$/

function checkWriteOptions(options: BlobWriteOptions): ValidationIssue[] {
  const issues: ValidationIssue[] = []
  const { contentType, cacheControl, metadata } = options
  if (
    contentType !== undefined &&
    (typeof contentType !== 'string' ||
      contentType.length > 255 ||
      !PRINTABLE_ASCII.test(contentType) ||
      !MEDIA_TYPE.test(contentType))
  )
    issues.push({ path: 'contentType', message: 'must be a MIME type such as image/png' })
  if (
    cacheControl !== undefined &&
    (typeof cacheControl !== 'string' ||
      cacheControl.length > 1024 ||
      !PRINTABLE_ASCII.test(cacheControl))
  )
    issues.push({
      path: 'cacheControl',
      message: 'must be printable ASCII, at most 1024 characters',
    })
  if (metadata !== undefined) {
    if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
      issues.push({ path: 'metadata', message: 'must be an object of string values' })
    } else {
      let bytes = 0
      for (const [name, value] of Object.entries(metadata)) {
        if (!METADATA_NAME.test(name) || name.length > 128)
          issues.push({
            path: `metadata.${name}`,
            message: 'names must be lower-case a-z, 0-9, - and _ (S3 lower-cases them)',
          })
        if (typeof value !== 'string' || !PRINTABLE_ASCII.test(value))
          issues.push({ path: `metadata.${name}`, message: 'must be a string of printable ASCII' })
        else bytes += name.length + value.length
      }
      if (bytes > MAX_METADATA_BYTES)
        issues.push({
          path: 'metadata',
          message: `is larger than ${MAX_METADATA_BYTES} bytes in all`,
        })
    }
  }
  return issues
}

function checkPositiveInt(
  value: unknown,
  path: string,
  min: number,
  max: number,
): ValidationIssue[] {
  return value === undefined ||
    (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max)
    ? []
    : [{ path, message: `must be a whole number from ${min} to ${max}` }]
}

/**
 * A body as a driver takes it: bytes (text as UTF-8), or a Node stream (a web stream
 * converted); `VALIDATION` on `body` for anything else.
 * @internal
 */
export function toDriverBody(body: BlobBody, context = 'blobs.put'): Uint8Array | Readable {
  if (typeof body === 'string') return Buffer.from(body, 'utf8')
  if (body instanceof Uint8Array) return body
  if (body instanceof ArrayBuffer) return new Uint8Array(body)
  if (body instanceof Readable) return body
  if (
    body instanceof WebReadableStream ||
    (typeof body === 'object' && body !== null && 'getReader' in body)
  )
    return Readable.fromWeb(body as WebReadableStream<Uint8Array>)
  throw new ValidationError(context, [
    {
      path: 'body',
      message:
        'must be a string, Uint8Array/Buffer, ArrayBuffer, Node Readable or web ReadableStream',
    },
  ])
}

/**
 * The blob store: one front over any {@link BlobDriver} (S3, filesystem, memory). It
 * checks every key and option before any I/O (`INVALID_KEY`, `VALIDATION`), applies the
 * store's key prefix, turns driver failures into `StratumError`s with the original as
 * `cause`, and counts what it does.
 *
 * @example
 * ```ts
 * await data.blobs.put(`avatars/${user.id}.png`, bytes, { contentType: 'image/png' })
 * const url = await data.blobs.signedUrl(`avatars/${user.id}.png`, { expiresIn: 300 })
 * for await (const item of data.blobs.listAll({ prefix: 'avatars/' })) console.log(item.key)
 * ```
 */
export class BlobStore {
  readonly #driver: BlobDriver
  readonly #prefix: string
  readonly #partSizeBytes: number
  readonly #queueSize: number
  readonly #stats: BlobStats = {
    puts: 0,
    gets: 0,
    heads: 0,
    deletes: 0,
    lists: 0,
    copies: 0,
    signedUrls: 0,
    bytesWritten: 0,
    bytesRead: 0,
    errors: 0,
  }

  constructor(driver: BlobDriver, options: BlobStoreOptions = {}) {
    const prefix = options.prefix ?? BLOB_DEFAULTS.prefix
    assertBlobPrefix(prefix)
    const issues = [
      ...checkPositiveInt(options.partSizeBytes, 'partSizeBytes', MIN_PART_BYTES, 5 * 1024 ** 3),
      ...checkPositiveInt(options.queueSize, 'queueSize', 1, 64),
    ]
    if (issues.length > 0) throw new ValidationError('BlobStore options', issues)
    this.#driver = driver
    this.#prefix = prefix
    this.#partSizeBytes = options.partSizeBytes ?? BLOB_DEFAULTS.partSizeBytes
    this.#queueSize = options.queueSize ?? BLOB_DEFAULTS.queueSize
  }

  /** The driver's name: `s3`, `fs`, `memory`, or a third-party driver's. */
  get kind(): string {
    return this.#driver.kind
  }

  /** The prefix in front of every key of this store. */
  get prefix(): string {
    return this.#prefix
  }

  /**
   * Stores `body` under `key`, replacing what was there. Bodies of unknown length
   * (streams) go up in parts; an error or an abort leaves nothing under the key.
   */
  async put(key: string, body: BlobBody, options: BlobPutOptions = {}): Promise<void> {
    const full = this.#key(key)
    const issues = [
      ...checkWriteOptions(options),
      ...checkPositiveInt(options.partSizeBytes, 'partSizeBytes', MIN_PART_BYTES, 5 * 1024 ** 3),
      ...checkPositiveInt(options.queueSize, 'queueSize', 1, 64),
    ]
    if (issues.length > 0) throw new ValidationError('blobs.put', issues)
    const driverBody = toDriverBody(body)
    let loaded = 0
    const onProgress = (progress: BlobProgress) => {
      loaded = progress.loaded
      options.onProgress?.(progress)
    }
    await this.#run('put', full, async () => {
      await this.#driver.put(full, driverBody, {
        ...(options.contentType === undefined ? {} : { contentType: options.contentType }),
        ...(options.cacheControl === undefined ? {} : { cacheControl: options.cacheControl }),
        ...(options.metadata === undefined ? {} : { metadata: options.metadata }),
        ...(options.signal ? { signal: options.signal } : {}),
        onProgress,
        partSizeBytes: options.partSizeBytes ?? this.#partSizeBytes,
        queueSize: options.queueSize ?? this.#queueSize,
      })
      this.#stats.puts += 1
      this.#stats.bytesWritten += driverBody instanceof Readable ? loaded : driverBody.byteLength
    })
  }

  /** The object's bytes; `NOT_FOUND` when there is none. */
  async get(key: string): Promise<Buffer> {
    const full = this.#key(key)
    return this.#run('get', full, async () => {
      const bytes = await this.#driver.get(full)
      this.#stats.gets += 1
      this.#stats.bytesRead += bytes.byteLength
      return bytes
    })
  }

  /**
   * A stream of the object's bytes, or of an inclusive byte `range` of them (an `end`
   * past the last byte stops at the last byte; a `start` past it is `VALIDATION`).
   */
  async getStream(key: string, options: { range?: ByteRange } = {}): Promise<Readable> {
    const full = this.#key(key)
    const { range } = options
    if (range !== undefined) {
      const issues = [
        ...checkPositiveInt(range.start, 'range.start', 0, Number.MAX_SAFE_INTEGER),
        ...checkPositiveInt(range.end, 'range.end', 0, Number.MAX_SAFE_INTEGER),
      ]
      if (range.start === undefined) issues.push({ path: 'range.start', message: 'is required' })
      if (issues.length === 0 && range.end !== undefined && range.end < range.start)
        issues.push({ path: 'range.end', message: 'must not be before range.start' })
      if (issues.length > 0) throw new ValidationError('blobs.getStream', issues)
    }
    return this.#run('getStream', full, async () => {
      const stream = await this.#driver.getStream(full, range)
      this.#stats.gets += 1
      return stream
    })
  }

  /** Size, content type, ETag, last change and metadata; `NOT_FOUND` when there is none. */
  async head(key: string): Promise<BlobHead> {
    const full = this.#key(key)
    return this.#run('head', full, async () => {
      const head = await this.#driver.head(full)
      this.#stats.heads += 1
      return { ...head, key }
    })
  }

  /** Whether an object is stored under `key`. */
  async exists(key: string): Promise<boolean> {
    const full = this.#key(key)
    return this.#run('exists', full, async () => {
      this.#stats.heads += 1
      try {
        await this.#driver.head(full)
        return true
      } catch (error) {
        if (error instanceof StratumError && error.code === 'NOT_FOUND') return false
        throw error
      }
    })
  }

  /** Deletes the object; deleting a missing key is not an error. */
  async delete(key: string): Promise<void> {
    const full = this.#key(key)
    await this.#run('delete', full, async () => {
      await this.#driver.delete(full)
      this.#stats.deletes += 1
    })
  }

  /** Deletes many objects (in batches of 1,000 on S3); reports keys that failed. */
  async deleteMany(keys: readonly string[]): Promise<DeleteManyResult> {
    if (!Array.isArray(keys))
      throw new ValidationError('blobs.deleteMany', [
        { path: 'keys', message: 'must be an array of keys' },
      ])
    const full = keys.map((k) => this.#key(k))
    if (full.length === 0) return { deleted: 0, errors: [] }
    return this.#run('deleteMany', '', async () => {
      const result = await this.#driver.deleteMany([...new Set(full)])
      this.#stats.deletes += result.deleted
      return {
        deleted: result.deleted,
        errors: result.errors.map((e) => ({ ...e, key: this.#strip(e.key) })),
      }
    })
  }

  /**
   * One page of keys under `prefix`, in UTF-8 byte order (S3's). With a `delimiter`,
   * keys that contain it after the prefix are rolled up into `prefixes`. Pass the
   * returned `cursor` to get the next page.
   */
  async list(options: BlobListOptions = {}): Promise<BlobPage> {
    const prefix = options.prefix ?? BLOB_DEFAULTS.prefix
    assertBlobPrefix(prefix)
    const issues = checkPositiveInt(options.limit, 'limit', 1, 1000)
    if (
      options.delimiter !== undefined &&
      (typeof options.delimiter !== 'string' ||
        options.delimiter.length === 0 ||
        options.delimiter.length > 16)
    )
      issues.push({ path: 'delimiter', message: 'must be a string of 1 to 16 characters' })
    if (
      options.cursor !== undefined &&
      (typeof options.cursor !== 'string' || options.cursor === '')
    )
      issues.push({ path: 'cursor', message: 'must be a cursor returned by list' })
    if (issues.length > 0) throw new ValidationError('blobs.list', issues)
    const full = this.#prefix + prefix
    return this.#run('list', full, async () => {
      const page = await this.#driver.list({
        prefix: full,
        limit: options.limit ?? 1000,
        ...(options.delimiter ? { delimiter: options.delimiter } : {}),
        ...(options.cursor ? { cursor: options.cursor } : {}),
      })
      this.#stats.lists += 1
      return {
        items: page.items.map((item) => ({ ...item, key: this.#strip(item.key) })),
        prefixes: page.prefixes.map((p) => this.#strip(p)),
        ...(page.cursor ? { cursor: page.cursor } : {}),
      }
    })
  }

  /** Every page of a listing, one `list` call each. */
  async *listPages(options: Omit<BlobListOptions, 'cursor'> = {}): AsyncGenerator<BlobPage> {
    let cursor: string | undefined
    do {
      const page = await this.list({ ...options, ...(cursor ? { cursor } : {}) })
      yield page
      cursor = page.cursor
    } while (cursor)
  }

  /** Every object under a prefix, page after page. */
  async *listAll(
    options: Omit<BlobListOptions, 'cursor' | 'delimiter'> = {},
  ): AsyncGenerator<BlobListItem> {
    for await (const page of this.listPages(options)) yield* page.items
  }

  /** Copies an object with its content type and metadata; `NOT_FOUND` if `from` is missing. */
  async copy(from: string, to: string): Promise<void> {
    const source = this.#key(from)
    const target = this.#key(to)
    await this.#run('copy', source, async () => {
      await this.#driver.copy(source, target)
      this.#stats.copies += 1
    })
  }

  /**
   * Moves an object: a rename on the filesystem, a copy then a delete on S3 (where for
   * a moment both keys exist).
   */
  async move(from: string, to: string): Promise<void> {
    const source = this.#key(from)
    const target = this.#key(to)
    await this.#run('move', source, async () => {
      if (source === target) {
        await this.#driver.head(source)
        return
      }
      if (this.#driver.move) await this.#driver.move(source, target)
      else {
        await this.#driver.copy(source, target)
        await this.#driver.delete(source)
      }
      this.#stats.copies += 1
      this.#stats.deletes += 1
    })
  }

  /**
   * A URL that lets anyone holding it GET (or PUT) this one key until it expires
   * (`expiresIn` seconds, default 900). S3 only: the filesystem and memory drivers throw
   * `UNSUPPORTED`.
   */
  async signedUrl(key: string, options: SignedUrlOptions = {}): Promise<string> {
    const full = this.#key(key)
    const method = options.method ?? 'GET'
    const issues = checkPositiveInt(options.expiresIn, 'expiresIn', 1, 604_800)
    if (method !== 'GET' && method !== 'PUT')
      issues.push({ path: 'method', message: 'must be GET or PUT' })
    issues.push(
      ...checkWriteOptions({
        ...(options.contentType === undefined ? {} : { contentType: options.contentType }),
      }),
    )
    if (issues.length > 0) throw new ValidationError('blobs.signedUrl', issues)
    return this.#run('signedUrl', full, async () => {
      const url = await this.#driver.signedUrl(full, {
        ...options,
        method,
        expiresIn: options.expiresIn ?? 900,
      })
      this.#stats.signedUrls += 1
      return url
    })
  }

  /** Resolves when the backend answers (a HEAD on the bucket, a look at the directory). */
  async ping(): Promise<void> {
    await this.#run('ping', '', () => this.#driver.ping())
  }

  /** A copy of the counters. */
  stats(): BlobStats {
    return { ...this.#stats }
  }

  /** Releases the driver's connections (a client passed in by the caller is left open). */
  async close(): Promise<void> {
    await this.#driver.close()
  }

  #key(key: string): string {
    assertBlobKey(key)
    const full = this.#prefix + key
    if (Buffer.byteLength(full, 'utf8') > MAX_BLOB_KEY_BYTES)
      throw new StratumError(
        'INVALID_KEY',
        `Blob key ${JSON.stringify(key)} is longer than ${MAX_BLOB_KEY_BYTES} bytes with the store prefix`,
      )
    return full
  }

  #strip(key: string): string {
    return key.startsWith(this.#prefix) ? key.slice(this.#prefix.length) : key
  }

  async #run<T>(operation: string, key: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (error) {
      this.#stats.errors += 1
      if (error instanceof StratumError) throw error
      const reason = error instanceof Error ? error.message : String(error)
      throw new StratumError(
        'STORAGE',
        `blobs.${operation}${key ? ` of ${JSON.stringify(this.#strip(key))}` : ''} failed on the ${this.#driver.kind} driver: ${reason}`,
        {
          cause: error,
          details: {
            operation,
            driver: this.#driver.kind,
            errno: (error as NodeJS.ErrnoException).code,
          },
        },
      )
    }
  }
}
