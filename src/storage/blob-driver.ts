import type { Readable } from 'node:stream'

/** What a blob is stored with, besides its bytes. */
export interface BlobWriteOptions {
  /** MIME type returned by `head` and served on signed GETs (default `application/octet-stream`). */
  readonly contentType?: string
  /** `Cache-Control` stored with the object (served by S3 on GETs). */
  readonly cacheControl?: string
  /**
   * User metadata: lower-case ASCII names (`a-z`, `0-9`, `-`, `_`) and printable ASCII
   * values, 2 KB in all (S3's limit), so it round-trips unchanged on every driver.
   */
  readonly metadata?: Readonly<Record<string, string>>
}

/** Bytes sent so far by a `put`, and the total when it is known. */
export interface BlobProgress {
  readonly loaded: number
  readonly total?: number
}

/** Per-call settings of a driver `put`. */
export interface DriverPutOptions extends BlobWriteOptions {
  /** Aborts the upload; nothing becomes visible under the key. */
  readonly signal?: AbortSignal
  readonly onProgress?: (progress: BlobProgress) => void
  /** Multipart part size in bytes (S3). */
  readonly partSizeBytes: number
  /** Parts uploaded at once (S3). */
  readonly queueSize: number
}

/** What `head` returns. */
export interface BlobHead {
  readonly key: string
  readonly size: number
  readonly contentType: string
  /** An opaque version tag that changes whenever the object is written (S3's ETag, quoted). */
  readonly etag: string
  readonly lastModified: Date
  readonly metadata: Readonly<Record<string, string>>
  readonly cacheControl?: string
}

/** One object in a listing. */
export interface BlobListItem {
  readonly key: string
  readonly size: number
  readonly etag: string
  readonly lastModified: Date
}

/** One page of a listing. */
export interface BlobPage {
  readonly items: readonly BlobListItem[]
  /** Common prefixes (each ending with the delimiter), when a delimiter was given. */
  readonly prefixes: readonly string[]
  /** Pass to the next `list` call; absent on the last page. */
  readonly cursor?: string
}

/** What to list. Items and prefixes together count toward `limit`. */
export interface BlobListOptions {
  readonly prefix?: string
  readonly delimiter?: string
  readonly cursor?: string
  /** At most this many entries (1 to 1,000; default 1,000). */
  readonly limit?: number
}

/** An inclusive byte range, as in HTTP: `{ start: 0, end: 99 }` is the first 100 bytes. */
export interface ByteRange {
  readonly start: number
  /** Last byte, inclusive; past the end means up to the end. Omitted: to the end. */
  readonly end?: number
}

/** Settings of a signed URL. */
export interface SignedUrlOptions {
  readonly method?: 'GET' | 'PUT'
  /** Seconds the URL stays valid (1 to 604,800; default 900). */
  readonly expiresIn?: number
  /** For PUT: the content type the uploader must send. */
  readonly contentType?: string
}

/** Result of `deleteMany`. */
export interface DeleteManyResult {
  readonly deleted: number
  readonly errors: readonly { readonly key: string; readonly message: string }[]
}

/**
 * The contract every blob backend implements. Keys arrive validated and already
 * prefixed; bodies arrive as bytes (with known size) or a Node stream (size unknown).
 * Each method throws a `StratumError`: `NOT_FOUND` when a read or copy finds no object,
 * `UNAVAILABLE` when the backend cannot be reached, `UNSUPPORTED` for what the backend
 * cannot do, `STORAGE` for anything else (with the backend's error as `cause`).
 */
export interface BlobDriver {
  /** `memory`, `fs`, `s3`, or a third-party driver's name. */
  readonly kind: string
  /** Stores the body atomically: readers see the old object or the whole new one. */
  put(key: string, body: Uint8Array | Readable, options: DriverPutOptions): Promise<void>
  get(key: string): Promise<Buffer>
  /** A stream of the object's bytes, or of `range` of them. */
  getStream(key: string, range?: ByteRange): Promise<Readable>
  head(key: string): Promise<BlobHead>
  /** Deletes the object; a missing key is not an error. */
  delete(key: string): Promise<void>
  deleteMany(keys: readonly string[]): Promise<DeleteManyResult>
  list(
    options: Required<Pick<BlobListOptions, 'prefix' | 'limit'>> & BlobListOptions,
  ): Promise<BlobPage>
  /** Copies bytes and metadata. */
  copy(from: string, to: string): Promise<void>
  /** Moves in one step where the backend can (a rename); absent means copy then delete. */
  move?(from: string, to: string): Promise<void>
  signedUrl(
    key: string,
    options: Required<Pick<SignedUrlOptions, 'method' | 'expiresIn'>> & SignedUrlOptions,
  ): Promise<string>
  /** Resolves when the backend answers (a HEAD on the bucket, a look at the directory). */
  ping(): Promise<void>
  close(): Promise<void>
}
