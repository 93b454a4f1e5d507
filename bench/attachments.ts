import { PutObjectCommand } from '@aws-sdk/client-s3'
import { createDataLayer } from '../src/index.js'
import type { S3Endpoint } from '../src/testing/local-s3.js'
import { compareRuns, printTable } from './measure.js'
import { rawS3Client } from './s3-client.js'

const FILES_PER_RUN = 16
const ROUNDS = 7
/** A 1x1 PNG, padded after its end to the sizes below (still a PNG to `file-type`). */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
)

/**
 * What checking and tracking an upload costs: `data.attachments.upload` (the media type and
 * bytes checked, SHA-256, the row written before and after the put) against a bare
 * `PutObject` of the same bytes with the raw AWS SDK, on the same S3 server; files one after
 * another, as one user's uploads come.
 */
export async function benchAttachments(s3: S3Endpoint, databaseUrl: string): Promise<void> {
  const client = rawS3Client(s3)
  const data = await createDataLayer({
    databaseUrl,
    s3: { bucket: s3.bucket, client },
    blobs: { prefix: 'bench-attachments/' },
  })
  try {
    const user = await data.users.create({ email: `bench.attachments.${Date.now()}@example.com` })
    const chat = await data.chats.create({ userId: user.id, title: 'bench attachments' })
    const rows: string[][] = []
    for (const size of [64 * 1024, 1024 * 1024]) {
      const bytes = Buffer.concat([PNG, Buffer.alloc(size - PNG.byteLength, 7)])
      let n = 0
      const result = await compareRuns(
        async () => {
          for (let i = 0; i < FILES_PER_RUN; i++)
            await client.send(
              new PutObjectCommand({
                Bucket: s3.bucket,
                Key: `bench-attachments/raw/${n++}`,
                Body: bytes,
                ContentType: 'image/png',
              }),
            )
        },
        async () => {
          for (let i = 0; i < FILES_PER_RUN; i++)
            await data.attachments.upload({ chatId: chat.id, body: bytes, mediaType: 'image/png' })
        },
        { units: FILES_PER_RUN, rounds: ROUNDS },
      )
      rows.push([
        `${size / 1024} KiB PNG`,
        `${result.baseline.toFixed(0)} files/s`,
        `${result.subject.toFixed(0)} files/s`,
        result.ratio.toFixed(2),
      ])
    }
    console.log(
      `\n## Attachments: checked, tracked uploads vs a bare PutObject (raw AWS SDK) on the same S3 server (${FILES_PER_RUN} files per run, medians of ${ROUNDS} alternating rounds)`,
    )
    printTable(['file', 'PutObject', 'attachments.upload', 'ratio'], rows)
    await data.chats.delete(chat.id) // its attachments' blobs go with it
    const raw: string[] = []
    for await (const item of data.blobs.listAll({ prefix: 'raw/' })) raw.push(item.key)
    await data.blobs.deleteMany(raw)
  } finally {
    await data.close()
    client.destroy()
  }
}
