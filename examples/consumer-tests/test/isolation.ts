import { createTestDataLayer, type TestDataLayer } from 'stratum-data/testing'
import { afterAll, beforeAll, expect, it } from 'vitest'

/**
 * The cache is best effort: a Redis command past its timeout (250 ms by default) on a loaded
 * machine is a failed set (false) or a miss, never an error. Isolation means this file never
 * reads another file's value: what it set, or a miss, or (after a failed set) its own older one.
 */
export function expectOwnCacheValue(file: string, stored: boolean, seen: unknown, mine: string) {
  if (seen === undefined) return
  if (stored) expect(seen).toBe(mine)
  else expect(String(seen).startsWith(`${file}:`)).toBe(true)
}

/**
 * What every test file here runs: the same seed gives every file the same ids, the same
 * email, the same cache key and the same blob key, so any sharing between files (a common
 * database, cache prefix or blob prefix) would show up as a duplicate email, a row count
 * above one, or another file's name read back.
 */
export function isolationSuite(file: string): void {
  let t: TestDataLayer
  beforeAll(async () => {
    t = await createTestDataLayer({ seed: 42, embeddings: { dimensions: 384 } })
    console.log(`[${file}] pid ${process.pid} on ${t.description}`)
  })
  afterAll(() => t?.destroy())

  it('sees only its own rows, cache keys and blobs while the other files write the same ones', async () => {
    const user = await t.fixtures.user({ firstName: file })
    const vector = await t.fixtures.vector()
    for (let i = 0; i < 150; i++) {
      const cached = await t.data.cache.set('who', `${file}:${i}`)
      await t.data.blobs.put('who.txt', `${file}:${i}`)
      await t.data.users.update(user.id, { lastName: `${file}:${i}` })
      expectOwnCacheValue(file, cached, await t.data.cache.get('who'), `${file}:${i}`)
      expect((await t.data.blobs.get('who.txt')).toString()).toBe(`${file}:${i}`)
      expect((await t.data.users.findByEmail(user.email))?.lastName).toBe(`${file}:${i}`)
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    expect(await t.data.users.count()).toBe(2)
    const hits = await t.data.vectors.search({
      embedding: vector.embedding as number[],
      userId: vector.userId,
      limit: 5,
    })
    expect(hits.map((h) => h.id)).toEqual([vector.id])
    const blobs = []
    for await (const item of t.data.blobs.listAll()) blobs.push(item.key)
    expect(blobs).toEqual(['who.txt'])
  })

  it('reset() leaves an empty database for the next test', async () => {
    await t.reset()
    expect(await t.data.users.count()).toBe(0)
    expect(await t.data.cache.get('who')).toBeUndefined()
    const user = await t.fixtures.user()
    expect(user.email).toMatch(/^user-1-/)
  })
}
