const { createTestDataLayer } = require('stratum-data/testing')

/** The Vitest suite's idea under Jest: the same seed, key and blob in every file, yet isolated. */
module.exports = function isolationSuite(file) {
  let t
  beforeAll(async () => {
    t = await createTestDataLayer({ seed: 42 })
    console.log(`[${file}] pid ${process.pid} on ${t.description}`)
  })
  afterAll(() => t?.destroy())

  test('sees only its own rows, cache keys and blobs', async () => {
    const user = await t.fixtures.user({ firstName: file })
    for (let i = 0; i < 50; i++) {
      // The cache is best effort: a Redis command past its timeout on a loaded machine is a
      // failed set or a miss, never another file's value.
      const stored = await t.data.cache.set('who', `${file}:${i}`)
      await t.data.blobs.put('who.txt', `${file}:${i}`)
      const seen = await t.data.cache.get('who')
      if (seen !== undefined && stored) expect(seen).toBe(`${file}:${i}`)
      if (seen !== undefined) expect(String(seen).startsWith(`${file}:`)).toBe(true)
      expect((await t.data.blobs.get('who.txt')).toString()).toBe(`${file}:${i}`)
    }
    expect((await t.data.users.findByEmail(user.email))?.firstName).toBe(file)
    expect(await t.data.users.count()).toBe(1)
  })
}
