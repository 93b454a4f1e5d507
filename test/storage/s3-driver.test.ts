import { createHash, randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import { inspect } from 'node:util'
import {
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3'
import { describe, expect, inject, it } from 'vitest'
import { BlobStore, s3BlobDriver } from '../../src/storage/index.js'
import { DEFAULT_S3_MAX_ATTEMPTS } from '../../src/storage/s3-retry.js'
import { uniquePrefix } from '../../src/testing/contracts/index.js'
import { freePort } from '../../src/testing/free-port.js'
import { testS3Options } from '../helpers/s3.js'

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')

async function failure(promise: Promise<unknown>): Promise<{ code?: string; message: string }> {
  return promise.then(
    () => {
      throw new Error('expected a failure')
    },
    (e: { code?: string; message: string }) => e,
  )
}

describe(`S3 driver specifics (${inject('s3Description')})`, () => {
  const s3 = inject('s3')
  const storeWith = (overrides: Partial<Parameters<typeof s3BlobDriver>[0]> = {}) =>
    new BlobStore(s3BlobDriver(testS3Options(overrides)), { prefix: uniquePrefix() })

  it('signs PUT URLs without the SDK checksum of an empty body, whatever the checksum setting', async () => {
    const client = new S3Client({
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'not-used-here' },
    })
    const store = new BlobStore(s3BlobDriver({ bucket: 'any-bucket', client }))
    const url = await store.signedUrl('uploads/a.png', { method: 'PUT', contentType: 'image/png' })
    expect(url).toMatch(/X-Amz-Signature=/)
    expect(url).not.toMatch(/x-amz-checksum|x-amz-sdk-checksum/i)
    client.destroy()
  })

  it('reports refused credentials as CONFIG and never shows the secret', async () => {
    const secret = 'Sup3r-Secret-Value-That-Must-Not-Leak'
    const store = storeWith({ credentials: { accessKeyId: 'NOT-A-KEY', secretAccessKey: secret } })
    const error = await failure(store.put('x', 'y'))
    expect(error.code).toBe('CONFIG')
    expect(error.message).toMatch(/InvalidAccessKeyId|refused/)
    expect(inspect(error, { depth: 20 })).not.toContain(secret)
    expect(JSON.stringify(error)).not.toContain(secret)
    await store.close()
  })

  it('reports a missing bucket as CONFIG', async () => {
    const store = storeWith({ bucket: 'no-such-bucket-here' })
    const error = await failure(store.get('x'))
    expect(error.code).toBe('CONFIG')
    expect(error.message).toContain('no-such-bucket-here')
    await store.close()
  })

  it('reports an unreachable endpoint as UNAVAILABLE after its retries (7 by default), and pings it once', async () => {
    const port = await freePort()
    const store = storeWith({ endpoint: `http://127.0.0.1:${port}` })
    const error = (await failure(store.get('x'))) as {
      code?: string
      cause?: { $metadata?: { attempts?: number } }
    }
    expect(error.code).toBe('UNAVAILABLE')
    expect(error.cause?.$metadata?.attempts).toBe(DEFAULT_S3_MAX_ATTEMPTS)
    const ping = (await failure(store.ping())) as typeof error
    expect(ping.code).toBe('UNAVAILABLE')
    expect(ping.cause?.$metadata?.attempts).toBe(1)
    await store.close()
  })

  it.runIf(inject('s3Description').startsWith('s3rver'))(
    "keeps bytes exact on s3rver even with the SDK's default checksums, where a raw streamed PutObject does not",
    async () => {
      const body = randomBytes(10_000)
      const client = new S3Client({
        endpoint: s3.endpoint,
        region: s3.region,
        forcePathStyle: true,
        credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      })
      // The finding: a streamed PutObject goes out aws-chunked with a trailing CRC32, and
      // s3rver stores the chunk framing as part of the object.
      await client.send(
        new PutObjectCommand({
          Bucket: s3.bucket,
          Key: 'framing/raw',
          Body: Readable.from([body]),
          ContentLength: body.byteLength,
        }),
      )
      const raw = await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: 'framing/raw' }))
      const rawBytes = await raw.Body!.transformToByteArray()
      expect(sha256(rawBytes)).not.toBe(sha256(body))
      // The driver never streams into PutObject (unknown lengths go through lib-storage,
      // which sends sized parts), so the same settings give exact bytes.
      const defaults = storeWith({ client })
      await defaults.put('framing/ours', Readable.from([body]))
      expect(sha256(await defaults.get('framing/ours'))).toBe(sha256(body))
      await client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: 'framing/raw' }))
      await defaults.delete('framing/ours')
      client.destroy()
    },
  )
})
