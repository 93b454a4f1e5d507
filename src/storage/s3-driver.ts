import { Readable } from 'node:stream'
import type { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { loadOptionalPeer } from '../util/optional-peer.js'
import type { BlobDriver, BlobListItem, BlobPage, DriverPutOptions } from './blob-driver.js'
import { blobAborted } from './blob-errors.js'
import { compareKeys } from './list-page.js'
import type { S3ClientLike } from './s3-client.js'
import { mapS3Error } from './s3-errors.js'
import { s3RetryStrategy } from './s3-retry.js'

/** Credentials for S3; without them the SDK's default chain (env, profile, role) is used. */
export interface S3Credentials {
  readonly accessKeyId: string
  readonly secretAccessKey: string
  readonly sessionToken?: string
}

/** Options of {@link s3BlobDriver}: a bucket and either a ready client or its settings. */
export interface S3BlobDriverOptions {
  readonly bucket: string
  /** A ready client (not closed by the driver); the settings below are then ignored. */
  readonly client?: S3ClientLike
  readonly region?: string
  /** For S3-compatible services (MinIO, R2, s3rver): their URL. */
  readonly endpoint?: string
  /** Path-style URLs (`endpoint/bucket/key`), which MinIO and s3rver need. */
  readonly forcePathStyle?: boolean
  readonly credentials?: S3Credentials
  /**
   * `when_supported` (the SDK's default since 3.729) sends CRC32 checksums on every
   * upload; some S3-compatible services mishandle them (s3rver stores the chunk framing
   * inside the object), and need `when_required`.
   */
  readonly checksums?: 'when_supported' | 'when_required'
  /**
   * Attempts per request, the first included (default 7, with exponential backoff from
   * 100 ms up to 2 s per wait: retries span a few seconds, enough for a short restart).
   * Client errors are never retried. Ignored with `client`, which keeps its own strategy.
   */
  readonly maxAttempts?: number
}

/** S3 deletes at most this many keys per DeleteObjects call. */
const DELETE_BATCH = 1000

/** Where S3 puts a Readable body, a stream of unknown length. */
type S3Body = Uint8Array | Readable

/**
 * Strips the body checksum the SDK computes before signing: a presigned PUT has no body
 * yet, so the SDK would sign the CRC32 of an empty payload into the URL and S3 would
 * then refuse every real upload through it.
 */
function withoutBodyChecksum<C extends PutObjectCommand | GetObjectCommand>(command: C): C {
  type Handler = (args: { request: unknown }) => Promise<unknown>
  const stack = command.middlewareStack as unknown as {
    add(middleware: (next: Handler) => Handler, options: object): void
  }
  stack.add(
    (next) => async (args) => {
      const request = args.request as { headers?: Record<string, string> }
      if (request.headers) {
        for (const name of Object.keys(request.headers)) {
          const lower = name.toLowerCase()
          if (lower.startsWith('x-amz-checksum-') || lower === 'x-amz-sdk-checksum-algorithm')
            delete request.headers[name]
        }
      }
      return next(args)
    },
    { step: 'build', priority: 'low', name: 'stratumStripPresignChecksum' },
  )
  return command
}

/** Marks a cursor made here rather than by S3 (S3's tokens never contain `~`). */
const OWN_CURSOR = '~'
/** After a common prefix, every key under it: no UTF-8 key sorts after this suffix. */
const PAST_PREFIX = '\u{10FFFF}'

function decodeOwnCursor(cursor: string): string | undefined {
  if (!cursor.startsWith(OWN_CURSOR)) return undefined
  return Buffer.from(cursor.slice(OWN_CURSOR.length), 'base64url').toString('utf8')
}

/**
 * S3 counts common prefixes toward MaxKeys; some compatible servers (s3rver) do not and
 * return more. The page is then cut to the limit here, in S3's order, and continues with
 * StartAfter from the last entry kept (past every key under it when it is a prefix).
 */
function cutToLimit(items: BlobListItem[], prefixes: string[], limit: number): BlobPage {
  const entries = [
    ...items.map((item) => ({ name: item.key, item })),
    ...prefixes.map((name) => ({ name, item: undefined })),
  ].sort((a, b) => compareKeys(a.name, b.name))
  const kept = entries.slice(0, limit)
  const last = kept.at(-1)!
  const after = last.item ? last.name : last.name + PAST_PREFIX
  return {
    items: kept.flatMap((e) => (e.item ? [e.item] : [])),
    prefixes: kept.flatMap((e) => (e.item ? [] : [e.name])),
    cursor: OWN_CURSOR + Buffer.from(after, 'utf8').toString('base64url'),
  }
}

const FEATURE = 'The S3 blob store'

/**
 * A blob driver on S3 or any S3-compatible service, through `@aws-sdk/client-s3`.
 * Streams of unknown length and large bodies go up as multipart uploads
 * (`@aws-sdk/lib-storage`), aborted on error or on the caller's signal so that no partial
 * object becomes visible. The SDK's retries stay on.
 *
 * @example
 * ```ts
 * import { BlobStore, s3BlobDriver } from 'stratum-data/storage'
 * const blobs = new BlobStore(s3BlobDriver({ bucket: 'uploads', region: 'eu-west-1' }))
 * ```
 */
export function s3BlobDriver(options: S3BlobDriverOptions): BlobDriver {
  const {
    CopyObjectCommand,
    DeleteObjectCommand,
    DeleteObjectsCommand,
    GetObjectCommand,
    HeadBucketCommand,
    HeadObjectCommand,
    ListObjectsV2Command,
    PutObjectCommand,
    S3Client,
  } = loadOptionalPeer<typeof import('@aws-sdk/client-s3')>('@aws-sdk/client-s3', FEATURE)
  const { Upload } = loadOptionalPeer<typeof import('@aws-sdk/lib-storage')>(
    '@aws-sdk/lib-storage',
    FEATURE,
  )
  const { getSignedUrl } = loadOptionalPeer<typeof import('@aws-sdk/s3-request-presigner')>(
    '@aws-sdk/s3-request-presigner',
    FEATURE,
  )
  const { bucket } = options
  const owned = !options.client
  const checksums = options.checksums === 'when_required' ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED'
  const clientWith = (maxAttempts: number | undefined) =>
    new S3Client({
      region: options.region ?? 'us-east-1',
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      ...(options.forcePathStyle === undefined ? {} : { forcePathStyle: options.forcePathStyle }),
      ...(options.credentials ? { credentials: options.credentials } : {}),
      retryStrategy: s3RetryStrategy({ maxAttempts }),
      requestChecksumCalculation: checksums,
      responseChecksumValidation: checksums,
    })
  const client = (options.client as S3Client | undefined) ?? clientWith(options.maxAttempts)
  // Health probes answer within their own timeout: one attempt, on a client of their own
  // (the SDK has no per-command retry setting). A client passed in serves both.
  let probeClient: S3Client | undefined
  const probe = (): S3Client => {
    if (!owned) return client
    probeClient ??= clientWith(1)
    return probeClient
  }

  const run = async <T>(operation: string, key: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn()
    } catch (error) {
      throw mapS3Error(error, operation, key, bucket)
    }
  }

  const writeParams = (key: string, putOptions: DriverPutOptions) => ({
    Bucket: bucket,
    Key: key,
    ContentType: putOptions.contentType ?? 'application/octet-stream',
    ...(putOptions.cacheControl === undefined ? {} : { CacheControl: putOptions.cacheControl }),
    ...(putOptions.metadata ? { Metadata: { ...putOptions.metadata } } : {}),
  })

  const upload = async (key: string, body: S3Body, putOptions: DriverPutOptions) => {
    const { signal, onProgress } = putOptions
    const controller = new AbortController()
    const onAbort = () => controller.abort(signal?.reason)
    signal?.addEventListener('abort', onAbort, { once: true })
    const job = new Upload({
      client,
      params: { ...writeParams(key, putOptions), Body: body },
      partSize: putOptions.partSizeBytes,
      queueSize: putOptions.queueSize,
      leavePartsOnError: false,
      abortController: controller,
    })
    if (onProgress)
      job.on('httpUploadProgress', (p) =>
        onProgress({ loaded: p.loaded ?? 0, ...(p.total === undefined ? {} : { total: p.total }) }),
      )
    try {
      await job.done()
    } catch (error) {
      if (signal?.aborted) throw blobAborted(key, error)
      throw error
    } finally {
      signal?.removeEventListener('abort', onAbort)
      if (body instanceof Readable && !body.destroyed) body.destroy()
    }
  }

  return {
    kind: 's3',
    put(key, body, putOptions) {
      return run('put', key, async () => {
        if (putOptions.signal?.aborted) throw blobAborted(key, putOptions.signal.reason)
        if (body instanceof Readable || body.byteLength > putOptions.partSizeBytes)
          return upload(key, body, putOptions)
        await client.send(
          new PutObjectCommand({
            ...writeParams(key, putOptions),
            Body: body,
            ContentLength: body.byteLength,
          }),
          putOptions.signal ? { abortSignal: putOptions.signal } : {},
        )
        putOptions.onProgress?.({ loaded: body.byteLength, total: body.byteLength })
      })
    },
    get(key) {
      return run('get', key, async () => {
        const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
        const bytes = (await out.Body?.transformToByteArray()) ?? new Uint8Array()
        return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
      })
    },
    getStream(key, range) {
      return run('getStream', key, async () => {
        const out = await client.send(
          new GetObjectCommand({
            Bucket: bucket,
            Key: key,
            ...(range ? { Range: `bytes=${range.start}-${range.end ?? ''}` } : {}),
          }),
        )
        const body = out.Body
        if (!body) return Readable.from([], { objectMode: false })
        if (body instanceof Readable) return body
        return Readable.fromWeb(body.transformToWebStream() as never)
      })
    },
    head(key) {
      return run('head', key, async () => {
        const out = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))
        return {
          key,
          size: out.ContentLength ?? 0,
          contentType: out.ContentType ?? 'application/octet-stream',
          etag: out.ETag ?? '',
          lastModified: out.LastModified ?? new Date(0),
          metadata: { ...out.Metadata },
          ...(out.CacheControl === undefined ? {} : { cacheControl: out.CacheControl }),
        }
      })
    },
    delete(key) {
      return run('delete', key, async () => {
        await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }))
      })
    },
    deleteMany(keys) {
      return run('deleteMany', '', async () => {
        const errors: { key: string; message: string }[] = []
        for (let i = 0; i < keys.length; i += DELETE_BATCH) {
          const batch = keys.slice(i, i + DELETE_BATCH)
          const out = await client.send(
            new DeleteObjectsCommand({
              Bucket: bucket,
              Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
            }),
          )
          for (const failed of out.Errors ?? [])
            errors.push({ key: failed.Key ?? '', message: `${failed.Code}: ${failed.Message}` })
        }
        return { deleted: keys.length - errors.length, errors }
      })
    },
    list(listOptions) {
      return run('list', listOptions.prefix, async () => {
        const resume = listOptions.cursor ? decodeOwnCursor(listOptions.cursor) : undefined
        const out = await client.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: listOptions.prefix || undefined,
            MaxKeys: listOptions.limit,
            ...(listOptions.delimiter ? { Delimiter: listOptions.delimiter } : {}),
            ...(resume !== undefined
              ? { StartAfter: resume }
              : listOptions.cursor
                ? { ContinuationToken: listOptions.cursor }
                : {}),
          }),
        )
        const items: BlobListItem[] = (out.Contents ?? []).map((o) => ({
          key: o.Key ?? '',
          size: o.Size ?? 0,
          etag: o.ETag ?? '',
          lastModified: o.LastModified ?? new Date(0),
        }))
        const prefixes = (out.CommonPrefixes ?? []).map((p) => p.Prefix ?? '')
        if (items.length + prefixes.length > listOptions.limit)
          return cutToLimit(items, prefixes, listOptions.limit)
        return {
          items,
          prefixes,
          ...(out.IsTruncated && out.NextContinuationToken
            ? { cursor: out.NextContinuationToken }
            : {}),
        }
      })
    },
    copy(from, to) {
      return run('copy', from, async () => {
        await client.send(
          new CopyObjectCommand({
            Bucket: bucket,
            Key: to,
            CopySource: `${bucket}/${encodeURIComponent(from).replace(/%2F/g, '/')}`,
            MetadataDirective: 'COPY',
          }),
        )
      })
    },
    signedUrl(key, signOptions) {
      return run('signedUrl', key, async () => {
        const command =
          signOptions.method === 'PUT'
            ? new PutObjectCommand({
                Bucket: bucket,
                Key: key,
                ...(signOptions.contentType ? { ContentType: signOptions.contentType } : {}),
              })
            : new GetObjectCommand({ Bucket: bucket, Key: key })
        return getSignedUrl(client, withoutBodyChecksum(command), {
          expiresIn: signOptions.expiresIn,
        })
      })
    },
    ping() {
      return run('ping', '', async () => {
        await probe().send(new HeadBucketCommand({ Bucket: bucket }))
      })
    },
    async close() {
      if (owned) client.destroy()
      probeClient?.destroy()
    },
  }
}
