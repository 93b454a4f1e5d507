import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createDataLayer, DimensionMismatchError, type StratumError } from '../../src/index.js'
import {
  backends,
  backendTitle,
  databaseUrlOf,
  embeddingFrom,
  uniqueEmail,
} from '../helpers/backends.js'

for (const backend of backends) {
  describe(`embedding dimensions [${backendTitle(backend)}]`, () => {
    for (const dimensions of [384, 1536]) {
      it(`works end to end with ${dimensions}-d embeddings`, async () => {
        const data = await backend.open({ embeddings: { dimensions } })
        expect(data.embeddingDimensions).toBe(dimensions)
        const user = await data.users.create({ email: uniqueEmail() })
        await data.vectors.upsert(
          [1, 2, 3].map((seed) => ({
            userId: user.id,
            content: `s${seed}`,
            embedding: embeddingFrom(seed, dimensions),
          })),
        )
        const hits = await data.vectors.search({
          userId: user.id,
          embedding: embeddingFrom(2, dimensions),
          limit: 3,
        })
        expect(hits.map((h) => h.content)[0]).toBe('s2')
        await expect(
          data.vectors.upsert([
            {
              userId: user.id,
              content: 'x',
              embedding: embeddingFrom(1, dimensions === 384 ? 1536 : 384),
            },
          ]),
        ).rejects.toMatchObject({ code: 'VALIDATION' })
      })
    }
  })
}

describe('dimension mismatch', () => {
  const dirs: string[] = []
  afterAll(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })))
  })

  it('is detected at start on a server database migrated for another dimension', async () => {
    const server = backends.find((b) => b.name === 'postgres')!
    const data = await server.open({ embeddings: { dimensions: 384 } })
    const url = databaseUrlOf(data)
    const error = (await createDataLayer({
      databaseUrl: url,
      embeddings: { dimensions: 1536 },
    }).catch((e) => e)) as StratumError
    expect(error).toBeInstanceOf(DimensionMismatchError)
    expect(error.code).toBe('DIMENSION_MISMATCH')
    expect(error.message).toContain('384')
    expect(error.message).toContain('1536')
  })

  it('is detected at start on an embedded database directory', async () => {
    const root = await mkdtemp(join(tmpdir(), 'stratum-dims-'))
    dirs.push(root)
    const dir = join(root, 'db')
    const first = await createDataLayer({ database: { dir }, embeddings: { dimensions: 384 } })
    await first.migrate()
    await first.close()
    const error = (await createDataLayer({ database: { dir } }).catch((e) => e)) as StratumError
    expect(error.code).toBe('DIMENSION_MISMATCH')
    expect(error.message).toContain('384')
    expect(error.message).toContain('1536')
    // The failed open released the directory: the right dimension opens it.
    const again = await createDataLayer({ database: { dir }, embeddings: { dimensions: 384 } })
    await again.close()
  })
})
