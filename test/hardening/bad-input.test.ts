import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inspect } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type DataLayer, isStratumError } from '../../src/index.js'
import { BlobStore, fsBlobDriver } from '../../src/storage/index.js'
import { backends, backendTitle, uniqueEmail } from '../helpers/backends.js'
import { failure } from '../helpers/failure.js'

// Issue #17: inputs a careless or hostile caller sends. Every call fails with a documented
// code, quickly, writes nothing, and never repeats more than a short prefix of the input.

const HUGE = 'x'.repeat(1_000_000)

for (const backend of backends) {
  describe(`hostile and careless input [${backendTitle(backend)}]`, () => {
    let data: DataLayer
    let userId: string
    let chatId: string
    beforeAll(async () => {
      data = await backend.open()
      userId = (await data.users.create({ email: uniqueEmail() })).id
      chatId = (await data.chats.create({ userId, title: 't' })).id
    })

    it('refuses a 1 MB field name or column name with a short message (no quadratic work)', async () => {
      const before = await data.users.count()
      const created = await failure(() =>
        data.users.create({ email: uniqueEmail(), [HUGE]: 1 } as never),
      )
      const filtered = await failure(() => data.users.findMany({ where: { [HUGE]: 1 } as never }))
      const ordered = await failure(() =>
        data.users.findMany({ orderBy: { [HUGE]: 'asc' } as never }),
      )
      for (const error of [created, filtered, ordered]) {
        expect(error.code).toBe('VALIDATION')
        expect(error.message.length).toBeLessThan(400)
      }
      expect(await data.users.count()).toBe(before)
    })

    it('refuses a metadata filter of 100,000 conditions before validating its shape', async () => {
      const filter = { and: Array.from({ length: 100_000 }, () => ({ key: 'a', eq: 1 })) }
      const error = await failure(() =>
        data.vectors.search({ userId, embedding: new Array(1536).fill(0.1), filter }),
      )
      expect(error.code).toBe('VALIDATION')
      expect(error.message).toContain('at most 100 conditions')
      let deep: unknown = { key: 'a', eq: 1 }
      for (let i = 0; i < 100_000; i++) deep = { not: deep }
      const nested = await failure(() =>
        data.vectors.search({
          userId,
          embedding: new Array(1536).fill(0.1),
          filter: deep as never,
        }),
      )
      expect(nested.code).toBe('VALIDATION')
    })

    it('gives VALIDATION (not a TypeError or DATABASE) for objects without a prototype', async () => {
      const bare = Object.create(null) as Record<string, unknown>
      expect((await failure(() => data.blobs.get(bare as never))).code).toBe('INVALID_KEY')
      const operand = Object.assign(Object.create(null), { eq: 'x@example.com' })
      const rows = await data.users.findMany({ where: { email: operand } })
      expect(rows).toEqual([])
      const weird = await failure(() =>
        data.users.findMany({ where: { email: new Map() as never } }),
      )
      expect(weird.code).toBe('VALIDATION')
      const inList = await failure(() =>
        data.users.findMany({ where: { email: { in: [bare as never] } } }),
      )
      expect(inList.code).toBe('VALIDATION')
    })

    it('refuses metadata that JSON would change, naming the path, and stores nothing', async () => {
      const cases: [string, Record<string, unknown>, string][] = [
        ['a Set', { s: new Set([1]) }, 'metadata.s'],
        ['a Map', { m: new Map() }, 'metadata.m'],
        ['a Date', { d: new Date() }, 'metadata.d'],
        ['undefined in an array', { a: [1, undefined] }, 'metadata.a[1]'],
        // biome-ignore lint/suspicious/noSparseArray: the hole is the point
        ['an array hole', { a: [1, , 3] }, 'metadata.a[1]'],
        ['a typed array', { t: new Uint8Array(2) }, 'metadata.t'],
        ['an object with toJSON', { o: { toJSON: () => 5 } }, 'metadata.o.toJSON'],
        ['a __proto__ key', JSON.parse('{"x":{"__proto__":1}}'), 'metadata.x.__proto__'],
        ['-0', { z: -0 }, 'metadata.z'],
        ['a lone surrogate', { s: 'a\uD800' }, 'metadata.s'],
        ['a class instance', { c: new (class Point {})() }, 'metadata.c'],
      ]
      const before = await data.messages.count({ chatId })
      for (const [what, metadata, path] of cases) {
        const error = await failure(() =>
          data.messages.append({ chatId, role: 'user', content: 'x', metadata }),
        )
        expect(error.code, what).toBe('VALIDATION')
        expect((error as unknown as { issues: { path: string }[] }).issues[0]?.path, what).toBe(
          path,
        )
      }
      expect(await data.messages.count({ chatId })).toBe(before)
      const plain = { n: 1.5, s: 'ü', a: [null, true, { b: [] }], e: {}, u: undefined }
      const stored = await data.messages.append({
        chatId,
        role: 'user',
        content: 'x',
        metadata: plain,
      })
      expect(stored.metadata).toEqual({ n: 1.5, s: 'ü', a: [null, true, { b: [] }], e: {} })
      expect((await data.messages.getById(stored.id)).metadata).toEqual(stored.metadata)
    })

    it('refuses a lone UTF-16 surrogate in every text field, as it refuses NUL', async () => {
      const lone = 'a\uDC00b'
      const errors = [
        await failure(() => data.users.create({ email: uniqueEmail(), firstName: lone })),
        await failure(() => data.chats.create({ userId, title: lone })),
        await failure(() => data.messages.append({ chatId, role: 'user', content: lone })),
        await failure(() =>
          data.vectors.upsert([{ userId, content: lone, embedding: new Array(1536).fill(0.1) }]),
        ),
        await failure(() => data.users.findMany({ where: { firstName: lone } })),
      ]
      for (const error of errors) expect(error.code).toBe('VALIDATION')
      const pair = await data.users.create({ email: uniqueEmail(), firstName: 'a😀b' })
      expect(pair.firstName).toBe('a😀b')
    })

    it('validates transaction options and never keeps a pooled connection', async () => {
      for (let i = 0; i < 15; i++) {
        const error = await failure(() =>
          data.transaction(async () => 1, { isolationLevel: 'bogus' } as never),
        )
        expect(error.code).toBe('VALIDATION')
      }
      const extra = await failure(() =>
        data.transaction(async () => 1, { readOnly: true } as never),
      )
      expect(extra.code).toBe('VALIDATION')
      expect(
        await data.transaction(async (tx) => tx.users.count(), { isolationLevel: 'serializable' }),
      ).toBeGreaterThan(0)
      expect(data.metrics().database.pool.waiting).toBe(0)
    })

    it('creates many rows from a generator a batch at a time, all or nothing', async () => {
      const before = await data.users.count()
      const tag = uniqueEmail('bulk')
      function* rows(bad?: number) {
        for (let i = 0; i < 2_500; i++)
          yield { email: i === bad ? 'not-an-email' : `${i}.${tag}`, firstName: `n${i}` }
      }
      const failed = await failure(() =>
        data.users.createMany(rows(2_100), { returning: false, batchSize: 500 }),
      )
      expect(failed.code).toBe('VALIDATION')
      expect((failed as unknown as { issues: { path: string }[] }).issues[0]?.path).toBe(
        '[2100].email',
      )
      expect(await data.users.count()).toBe(before)
      expect(await data.users.createMany(rows(), { returning: false, batchSize: 500 })).toEqual({
        count: 2_500,
      })
      expect(await data.users.count()).toBe(before + 2_500)
      expect((await data.users.findByEmail(`2499.${tag}`))?.firstName).toBe('n2499')
      if (!backend.server) return
      // A large array through the returning form: 100,000 rows overflowed the stack when
      // the keys to invalidate were spread into one push() call.
      const many = Array.from({ length: 120_000 }, (_, i) => ({ email: `${i}.many.${tag}` }))
      expect((await data.users.createMany(many)).length).toBe(120_000)
    })

    it('fails every later call with CLOSED after close, the cache, blobs and sessions too', async () => {
      const closing = await backend.open()
      await closing.close()
      const calls: [string, () => unknown][] = [
        ['cache.get', () => closing.cache.get('k')],
        ['cache.set', () => closing.cache.set('k', 1)],
        ['blobs.put', () => closing.blobs.put('k', 'v')],
        ['blobs.get', () => closing.blobs.get('k')],
        ['blobs.listAll', () => closing.blobs.listAll().next()],
        ['sessions.create', () => closing.sessions.create(userId, {})],
        ['rateLimit', () => closing.rateLimit('k', { limit: 1, periodMs: 1000 })],
        ['users.findById', () => closing.users.findById(userId)],
        ['transaction', () => closing.transaction(async () => 1)],
        ['context.build', () => closing.context.build({ chatId: userId, userId, budget: 100 })],
        ['context.pin', () => closing.context.pin({ chatId: userId, userId, content: 'x' })],
        ['context.notes', () => closing.context.notes({ chatId: userId, userId })],
        [
          'context.summarize',
          () => closing.context.summarize({ chatId: userId, userId, summarize: async () => 'x' }),
        ],
        ['memory.remember', () => closing.memory.remember({ userId, content: 'x' })],
        ['memory.search', () => closing.memory.search({ userId })],
        ['memory.current', () => closing.memory.current({ userId, key: 'k' })],
        ['embeddings.status', () => closing.embeddings.status()],
        ['embeddings.retryFailed', () => closing.embeddings.retryFailed()],
        ['embeddings.drain', () => closing.embeddings.drain()],
      ]
      for (const [what, call] of calls) {
        let error: unknown
        try {
          await call()
        } catch (caught) {
          error = caught
        }
        expect(isStratumError(error, 'CLOSED'), what).toBe(true)
      }
      expect((await closing.health()).status).toBe('down')
      expect(closing.metrics().cache.backend).toBeDefined()
      expect(closing.cache.stats().sets).toBe(0)
      await closing.close()
    })

    it("passes a bulk source's own error through unchanged, and refuses bad createMany, upsert and transaction options", async () => {
      const before = await data.users.count()
      const broken = new Error('the upload stream broke')
      const source = (function* () {
        yield { email: uniqueEmail() }
        throw broken
      })()
      expect(
        await data.users.createMany(source, { returning: false }).catch((e: unknown) => e),
      ).toBe(broken)
      const calls: [string, () => Promise<unknown>][] = [
        [
          'batchSize NaN',
          () => data.users.createMany([{ email: uniqueEmail() }], { batchSize: Number.NaN }),
        ],
        [
          'batchSize -1',
          () => data.users.createMany([{ email: uniqueEmail() }], { batchSize: -1 }),
        ],
        [
          'returning "no"',
          () => data.users.createMany([{ email: uniqueEmail() }], { returning: 'no' } as never),
        ],
        [
          'target a string',
          () => data.users.upsert({ email: uniqueEmail() }, { target: 'email' } as never),
        ],
        [
          'target no unique key',
          () => data.users.upsert({ email: uniqueEmail() }, { target: ['firstName'] }),
        ],
        [
          'transaction options {} of no prototype',
          () => data.transaction(async () => 1, Object.create(null)),
        ],
      ]
      for (const [what, call] of calls) {
        const error = await failure(call).catch(() => undefined)
        if (what.startsWith('transaction')) {
          expect(error, what).toBeUndefined() // an empty setting list is no setting at all
          continue
        }
        expect(error?.code, what).toBe('VALIDATION')
      }
      expect(await data.users.count()).toBe(before)
    })

    it('upserts by email in any case', async () => {
      const email = uniqueEmail()
      const first = await data.users.upsert({ email, firstName: 'A' }, { target: ['email'] })
      const second = await data.users.upsert(
        { email: email.toUpperCase(), firstName: 'B' },
        { target: ['email'] },
      )
      expect(second.id).toBe(first.id)
      expect(second.firstName).toBe('B')
      expect(await data.users.findById(first.id)).toEqual(second)
      const only = await data.users.upsert({ email }, { target: ['email'] })
      expect({ ...only, updatedAt: null }).toEqual({ ...second, updatedAt: null })
      const taken = await failure(() =>
        data.users.upsert({ id: first.id, email: uniqueEmail() }, { target: ['email'] }),
      )
      expect(taken.code).toBe('CONFLICT')
    })

    it('gives StratumErrors for calls made the wrong way', async () => {
      const calls: [string, () => unknown, string][] = [
        [
          'rateLimit without options',
          () => (data.rateLimit as (k: string) => unknown)('k'),
          'VALIDATION',
        ],
        ['transaction with an object', () => data.transaction({} as never), 'VALIDATION'],
        ['repository of a non-table', () => data.repository({} as never), 'VALIDATION'],
        [
          'orderBy as a string',
          () => data.users.findMany({ orderBy: 'createdAt' as never }),
          'VALIDATION',
        ],
        ['findById(undefined)', () => data.users.findById(undefined as never), 'VALIDATION'],
        ['findById of a non-UUID', () => data.users.findById('42'), 'VALIDATION'],
        ['update(null)', () => data.users.update(null as never, { firstName: 'x' }), 'VALIDATION'],
        ['delete({})', () => data.users.delete({} as never), 'VALIDATION'],
      ]
      for (const [what, call, code] of calls) {
        let error: unknown
        try {
          await call()
        } catch (caught) {
          error = caught
        }
        expect(isStratumError(error), what).toBe(true)
        expect((error as { code: string }).code, what).toBe(code)
      }
    })

    it('accepts any RFC 9562 UUID as an id and says when an id already exists', async () => {
      for (const id of [
        '00000000-0000-0000-0000-000000000000',
        'ffffffff-ffff-ffff-ffff-ffffffffffff',
        '1ec9414c-232a-6b00-b3c8-9e6bdeced846', // v6
        '01890a5d-ac96-774b-bcce-b302099a8057', // v7
        '320c3d4d-cc00-875b-8ec9-32d5f69181c0', // v8
      ]) {
        const email = uniqueEmail()
        await data.users.delete(id)
        expect((await data.users.create({ id, email })).id).toBe(id)
        const again = await failure(() => data.users.create({ id, email: uniqueEmail() }))
        expect(again.code).toBe('CONFLICT')
        expect(again.details.constraint).toBe('users_pkey')
        expect(again.message).toContain('this id already exists')
        await data.users.delete(id)
      }
    })

    it("keeps SQL parameters (a user's email) out of what an error prints", async () => {
      const email = uniqueEmail('secret-person')
      await data.users.create({ email })
      const duplicate = await failure(() => data.users.create({ email }))
      expect(duplicate.code).toBe('CONFLICT')
      const badDate = await failure(() =>
        data.users.findMany({ where: { email, createdAt: { gt: 'not a date' as never } } }),
      )
      for (const error of [duplicate, badDate]) {
        const printed = inspect(error, { depth: 10 })
        expect(printed).not.toContain('secret-person')
        expect(printed).not.toContain('insert into')
      }
    })
  })
}

describe('filesystem blob keys', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stratum-keys-'))
  })
  afterAll(() => rm(dir, { recursive: true, force: true }))

  it('stores k beside k.json/c (a sidecar never collides with a key folder)', async () => {
    const blobs = new BlobStore(fsBlobDriver({ dir }))
    await blobs.put('k', 'one', { contentType: 'text/plain' })
    await blobs.put('k.json/c', 'two', { contentType: 'text/csv' })
    expect((await blobs.get('k')).toString()).toBe('one')
    expect((await blobs.head('k')).contentType).toBe('text/plain')
    expect((await blobs.get('k.json/c')).toString()).toBe('two')
    expect((await blobs.head('k.json/c')).contentType).toBe('text/csv')
    await blobs.delete('k')
    expect((await blobs.head('k.json/c')).contentType).toBe('text/csv')
  })
})
