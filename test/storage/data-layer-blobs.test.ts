import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createDataLayer, type DataLayer } from '../../src/index.js'
import { memoryBlobDriver } from '../../src/storage/index.js'
import { uniquePrefix } from '../../src/testing/contracts/index.js'
import { freePort } from '../../src/testing/free-port.js'
import {
  cloneDatabase,
  dropDatabase,
  templateNameFor,
} from '../../src/testing/template-databases.js'
import { testS3Options } from '../helpers/s3.js'

const s3 = inject('s3')
const s3Options = (overrides: Record<string, unknown> = {}) => testS3Options(overrides)

describe('data.blobs', () => {
  let dir: string
  const opened: DataLayer[] = []
  // Every layer shares one cloned server database: what varies here is the blob store,
  // and a clone opens in milliseconds where PGlite takes seconds.
  let database: { url: string; name: string }
  const open = async (options: Parameters<typeof createDataLayer>[0]) => {
    const data = await createDataLayer({
      databaseUrl: database.url,
      embeddings: { dimensions: 384 },
      ...options,
    })
    opened.push(data)
    return data
  }
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stratum-layer-blobs-'))
    database = await cloneDatabase(
      inject('postgresUrl'),
      templateNameFor({ embeddings: { dimensions: 384 } }),
    )
  })
  afterAll(async () => {
    await Promise.all(opened.map((d) => d.close()))
    await rm(dir, { recursive: true, force: true })
    await dropDatabase(inject('postgresUrl'), database.name)
  })

  it('uses the filesystem under blobs.dir when S3 is not configured, and reports it in health', async () => {
    const data = await open({ blobs: { dir: join(dir, 'fs') } })
    expect(data.blobs.kind).toBe('fs')
    await data.blobs.put('avatars/1.txt', 'hello', { contentType: 'text/plain' })
    expect(await readFile(join(dir, 'fs', 'objects', 'avatars', '1.txt'), 'utf8')).toBe('hello')
    const report = await data.health()
    expect(report.status).toBe('ok')
    expect(report.parts.blobs).toMatchObject({ status: 'ok', backend: 'fs' })
    expect(report.parts.blobs.stats.puts).toBe(1)
  })

  it('uses S3 when configured, under the blob prefix, and reports it in health', async () => {
    const prefix = uniquePrefix()
    const data = await open({ s3: s3Options(), blobs: { prefix } })
    expect(data.blobs.kind).toBe('s3')
    await data.blobs.put('doc.txt', 'on s3')
    expect((await data.blobs.get('doc.txt')).toString()).toBe('on s3')
    const page = await data.blobs.list()
    expect(page.items.map((i) => i.key)).toEqual(['doc.txt'])
    const report = await data.health()
    expect(report.parts.blobs).toMatchObject({ status: 'ok', backend: 's3' })
    await data.blobs.delete('doc.txt')
  })

  it('reports an unreachable blob store as degraded, not down, without throwing', async () => {
    const data = await open({ s3: s3Options({ endpoint: `http://127.0.0.1:${await freePort()}` }) })
    const report = await data.health()
    expect(report.status).toBe('degraded')
    expect(report.parts.database.status).toBe('ok')
    expect(report.parts.blobs.status).toBe('down')
    expect(report.parts.blobs.error?.code).toBe('UNAVAILABLE')
    await expect(data.blobs.put('x', 'y')).rejects.toMatchObject({ code: 'UNAVAILABLE' })
  })

  it('takes any BlobDriver, and reads S3 settings from the environment', async () => {
    const data = await open({ blobs: { driver: memoryBlobDriver() } })
    expect(data.blobs.kind).toBe('memory')
    const fromEnv = await createDataLayer.fromEnv(
      {
        S3_BUCKET: s3.bucket,
        S3_ENDPOINT: s3.endpoint,
        S3_FORCE_PATH_STYLE: 'true',
        S3_CHECKSUMS: s3.checksums,
        STRATUM_BLOB_PREFIX: uniquePrefix(),
        STRATUM_EMBEDDING_DIMENSIONS: '384',
        DATABASE_URL: database.url,
      },
      {
        s3: {
          bucket: s3.bucket,
          credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
        },
      },
    )
    opened.push(fromEnv)
    expect(fromEnv.blobs.kind).toBe('s3')
    await fromEnv.blobs.put('env.txt', 'from env')
    expect((await fromEnv.blobs.get('env.txt')).toString()).toBe('from env')
    await fromEnv.blobs.delete('env.txt')
  })

  it('refuses two blob backends at once, and a bad bucket name, with CONFIG', async () => {
    await expect(open({ s3: s3Options(), blobs: { dir } })).rejects.toMatchObject({
      code: 'CONFIG',
    })
    await expect(open({ s3: s3Options({ bucket: 'Bad_Bucket' }) })).rejects.toMatchObject({
      code: 'CONFIG',
      message: expect.stringContaining('s3.bucket'),
    })
    await expect(open({ s3: s3Options({ checksums: 'sometimes' }) })).rejects.toMatchObject({
      code: 'CONFIG',
    })
  })
})
