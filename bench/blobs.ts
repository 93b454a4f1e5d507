import { createReadStream, createWriteStream } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { GetObjectCommand } from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import { createDataLayer } from '../src/index.js'
import type { S3Endpoint } from '../src/testing/local-s3.js'
import { compareRuns, printTable } from './measure.js'
import { rawS3Client } from './s3-client.js'

const MiB = 1024 * 1024
const SIZE = 64 * MiB
const PART = 8 * MiB
const QUEUE = 4
const ROUNDS = 7
/** Local transfers are short (tens of ms): each timed run repeats one this many times. */
const FS_REPEATS = 4

/** The same 64 MiB every time, as a stream of 1 MiB chunks whose total is not announced. */
function source(data: Buffer): Readable {
  let offset = 0
  return new Readable({
    read() {
      if (offset >= data.byteLength) this.push(null)
      else {
        this.push(data.subarray(offset, offset + MiB))
        offset += MiB
      }
    },
  })
}

/** Reads a stream to its end, keeping nothing; resolves to the byte count. */
async function drain(stream: Readable): Promise<number> {
  let bytes = 0
  await pipeline(
    stream,
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        bytes += chunk.byteLength
        done()
      },
    }),
  )
  if (bytes !== SIZE) throw new Error(`read ${bytes} bytes, expected ${SIZE}`)
  return bytes
}

const repeat = (run: () => Promise<unknown>) => async () => {
  for (let i = 0; i < FS_REPEATS; i++) await run()
}

const mibPerSecond = (rate: number) => `${rate.toFixed(0)} MiB/s`

/**
 * 64 MiB through `data.blobs` against the raw AWS SDK (lib-storage `Upload`, `GetObject`)
 * on the same S3 server, and through the filesystem driver against a raw `fs` stream
 * copy. Uploads are streams of unknown length on both sides; downloads are drained.
 */
export async function benchBlobs(s3: S3Endpoint, databaseUrl: string): Promise<void> {
  const payload = Buffer.alloc(SIZE)
  for (let i = 0; i < SIZE; i += 4) payload.writeUInt32LE((i * 2654435761) >>> 0, i)
  const client = rawS3Client(s3)
  const dir = await mkdtemp(join(tmpdir(), 'stratum-bench-blobs-'))
  const onS3 = await createDataLayer({
    databaseUrl,
    s3: { bucket: s3.bucket, client },
    blobs: { prefix: 'bench/', partSizeBytes: PART, queueSize: QUEUE },
  })
  const onFs = await createDataLayer({ databaseUrl, blobs: { dir: join(dir, 'store') } })
  const onFsNoSync = await createDataLayer({
    databaseUrl,
    blobs: { dir: join(dir, 'nosync'), fsync: false },
  })
  try {
    const rows: string[][] = []
    const row = (
      what: string,
      baseline: string,
      r: { baseline: number; subject: number; ratio: number },
    ) =>
      rows.push([
        what,
        baseline,
        mibPerSecond(r.baseline),
        mibPerSecond(r.subject),
        r.ratio.toFixed(2),
      ])
    const units = SIZE / MiB

    row(
      'S3 upload, 64 MiB stream',
      'lib-storage Upload',
      await compareRuns(
        () =>
          new Upload({
            client,
            params: { Bucket: s3.bucket, Key: 'raw/big', Body: source(payload) },
            partSize: PART,
            queueSize: QUEUE,
          }).done(),
        () => onS3.blobs.put('big', source(payload)),
        { units, rounds: ROUNDS },
      ),
    )
    row(
      'S3 download, 64 MiB',
      'GetObject',
      await compareRuns(
        async () => {
          const out = await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: 'raw/big' }))
          await drain(out.Body as Readable)
        },
        async () => drain(await onS3.blobs.getStream('big')),
        { units, rounds: ROUNDS },
      ),
    )
    row(
      'fs upload, 64 MiB stream (default: fsync)',
      'fs stream copy',
      await compareRuns(
        repeat(() => pipeline(source(payload), createWriteStream(join(dir, 'raw.bin')))),
        repeat(() => onFs.blobs.put('big', source(payload))),
        { units: units * FS_REPEATS, rounds: ROUNDS },
      ),
    )
    row(
      'fs upload, 64 MiB stream (fsync: false)',
      'fs stream copy',
      await compareRuns(
        repeat(() => pipeline(source(payload), createWriteStream(join(dir, 'raw.bin')))),
        repeat(() => onFsNoSync.blobs.put('big', source(payload))),
        { units: units * FS_REPEATS, rounds: ROUNDS },
      ),
    )
    row(
      'fs upload, 64 MiB stream (default: fsync)',
      'fs stream copy + fsync',
      await compareRuns(
        repeat(() =>
          pipeline(source(payload), createWriteStream(join(dir, 'raw.bin'), { flush: true })),
        ),
        repeat(() => onFs.blobs.put('big', source(payload))),
        { units: units * FS_REPEATS, rounds: ROUNDS },
      ),
    )
    row(
      'fs download, 64 MiB',
      'fs read stream',
      await compareRuns(
        repeat(() => drain(createReadStream(join(dir, 'raw.bin')))),
        repeat(async () => drain(await onFs.blobs.getStream('big'))),
        { units: units * FS_REPEATS, rounds: ROUNDS },
      ),
    )
    console.log(
      `\n## Blobs: 64 MiB through data.blobs vs the raw SDK / fs (medians of ${ROUNDS} alternating rounds)`,
    )
    printTable(['transfer', 'baseline', 'baseline rate', 'data.blobs', 'ratio'], rows)
    await onS3.blobs.delete('big')
  } finally {
    await Promise.all([onS3.close(), onFs.close(), onFsNoSync.close()])
    client.destroy()
    await rm(dir, { recursive: true, force: true })
  }
}
