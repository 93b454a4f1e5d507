import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isStratumError } from '../../src/index.js'
import { BlobStore, s3BlobDriver } from '../../src/storage/index.js'
import { type LocalS3, startLocalS3 } from '../../src/testing/local-s3.js'
import { waitFor } from '../helpers/wait-for.js'

// Issue #17 item 25: an S3 server of the test's own is killed and started again while four
// loops upload and download; the driver's default retries span the outage, so no call fails.

describe('the S3 driver across a short restart of the server', () => {
  let s3: LocalS3
  let store: BlobStore
  beforeAll(async () => {
    s3 = await startLocalS3()
    const { endpoint, bucket, region, accessKeyId, secretAccessKey } = s3.s3
    store = new BlobStore(
      s3BlobDriver({
        bucket,
        endpoint,
        region,
        forcePathStyle: true,
        checksums: 'when_required',
        credentials: { accessKeyId, secretAccessKey },
      }),
    )
  })
  afterAll(async () => {
    await store?.close()
    await s3?.stop()
  })

  it('fails no upload or download with the default retries, and still fails a missing key at once', async () => {
    const failures: string[] = []
    let calls = 0
    let running = true
    const loop = async (worker: number) => {
      for (let i = 0; running; i++) {
        const key = `w${worker}/${i}`
        try {
          await store.put(key, `body ${key}`)
          expect((await store.get(key)).toString()).toBe(`body ${key}`)
          calls++
        } catch (error) {
          failures.push(isStratumError(error) ? error.code : String(error))
        }
      }
    }
    const loops = [0, 1, 2, 3].map(loop)
    try {
      await waitFor('50 calls', async () => calls >= 50, 30_000, 10)
      await s3.halt()
      const during = calls
      await new Promise((r) => setTimeout(r, 1_200)) // the restart's downtime
      await s3.resume()
      await waitFor('50 calls after the restart', async () => calls >= during + 50, 30_000, 10)
    } finally {
      running = false
      await Promise.all(loops)
    }
    expect(failures).toEqual([])

    const error = await store.get('no/such/key').catch((e: unknown) => e)
    expect(isStratumError(error, 'NOT_FOUND')).toBe(true)
    // Not retried: a 404 is a client error. (A count of attempts, not a timing threshold.)
    expect(
      (error as { cause?: { $metadata?: { attempts?: number } } }).cause?.$metadata?.attempts,
    ).toBe(1)
  })
})
