import { randomBytes } from 'node:crypto'
import { beforeAll, describe, expect, inject, it } from 'vitest'
import { CACHE_TEST_HOOKS, type CacheTestHooks } from '../../src/cache/test-hooks.js'
import type { DataLayer, User } from '../../src/index.js'
import { freePort } from '../../src/testing/free-port.js'
import {
  type Backend,
  backends,
  backendTitle,
  pgbouncer,
  type TestLayerOptions,
  uniqueEmail,
} from '../helpers/backends.js'

/**
 * PGlite with the in-process cache, a server with Redis (directly and through PgBouncer in
 * transaction mode), and the server with Redis and the L1 tier.
 */
const setups: { title: string; backend: Backend; options: () => TestLayerOptions }[] = [
  {
    title: `${backendTitle(backends[0]!)} + memory cache`,
    backend: backends[0]!,
    options: () => ({}),
  },
  {
    title: `${backendTitle(backends[1]!)} + redis (${inject('redisDescription')})`,
    backend: backends[1]!,
    options: () => ({
      redisUrl: inject('redisUrl'),
      cache: { prefix: `t:${randomBytes(4).toString('hex')}:` },
    }),
  },
  {
    title: `${backendTitle(pgbouncer)} + redis`,
    backend: pgbouncer,
    options: () => ({
      redisUrl: inject('redisUrl'),
      cache: { prefix: `t:${randomBytes(4).toString('hex')}:` },
    }),
  },
  {
    title: `${backendTitle(backends[1]!)} + redis + L1 tier`,
    backend: backends[1]!,
    options: () => ({
      redisUrl: inject('redisUrl'),
      cache: { prefix: `t:${randomBytes(4).toString('hex')}:`, l1: { enabled: true } },
    }),
  },
]

const userKey = (id: string) => `e:users:${id}`
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

for (const setup of setups) {
  describe(`cached repositories [${setup.title}]`, () => {
    let data: DataLayer
    beforeAll(async () => {
      data = await setup.backend.open(setup.options())
    })

    it('serves repeated reads from the cache and never a value older than the last write', async () => {
      const user = await data.users.create({ email: uniqueEmail(), firstName: 'v1' })
      const before = data.cache.stats()
      expect(await data.users.findById(user.id)).toEqual(user)
      expect(await data.users.findById(user.id)).toEqual(user)
      const after = data.cache.stats()
      expect(after.misses - before.misses).toBe(1)
      expect(after.hits - before.hits).toBe(1)
      const updated = await data.users.update(user.id, { firstName: 'v2' })
      expect(await data.users.findById(user.id)).toEqual(updated)
      await data.users.recordLogin(user.id)
      expect((await data.users.findById(user.id))?.lastLogin).toBeInstanceOf(Date)
      await data.users.delete(user.id)
      expect(await data.users.findById(user.id)).toBeNull()
    })

    it('caches not-found briefly, and a create with that id is seen at once', async () => {
      const id = '01a20561-0000-7000-8000-00000000abcd'.replace(
        'abcd',
        randomBytes(2).toString('hex'),
      )
      expect(await data.users.findById(id)).toBeNull()
      const hitsBefore = data.cache.stats().hits
      expect(await data.users.findById(id)).toBeNull()
      expect(data.cache.stats().hits).toBe(hitsBefore + 1)
      await data.users.create({ id, email: uniqueEmail() })
      expect(await data.users.findById(id)).toMatchObject({ id })
    })

    it('follows an email change in findByEmail', async () => {
      const oldEmail = uniqueEmail('old')
      const newEmail = uniqueEmail('new')
      const user = await data.users.create({ email: oldEmail })
      expect((await data.users.findByEmail(oldEmail))?.id).toBe(user.id)
      expect(await data.users.findByEmail(newEmail)).toBeNull()
      await data.users.update(user.id, { email: newEmail })
      expect(await data.users.findByEmail(oldEmail)).toBeNull()
      expect((await data.users.findByEmail(newEmail))?.id).toBe(user.id)
      const other = await data.users.create({ email: oldEmail })
      expect((await data.users.findByEmail(oldEmail))?.id).toBe(other.id)
    })

    it('leaves the cache exactly as before when a transaction rolls back', async () => {
      const user = await data.users.create({ email: uniqueEmail(), firstName: 'kept' })
      await data.users.findById(user.id)
      const cachedBefore = await data.cache.get<User>(userKey(user.id))
      expect(cachedBefore).toEqual(user)
      await expect(
        data.transaction(async (tx) => {
          await tx.users.update(user.id, { firstName: 'rolled back' })
          // Reads inside the transaction see its own write, from the database.
          expect((await tx.users.findById(user.id))?.firstName).toBe('rolled back')
          throw new Error('undo')
        }),
      ).rejects.toThrow('undo')
      expect(await data.cache.get<User>(userKey(user.id))).toEqual(cachedBefore)
      expect((await data.users.findById(user.id))?.firstName).toBe('kept')
    })

    it('makes a committed transaction visible on the next read', async () => {
      const user = await data.users.create({ email: uniqueEmail(), firstName: 'before' })
      await data.users.findById(user.id)
      await data.transaction(async (tx) => {
        await tx.users.update(user.id, { firstName: 'after' })
        await tx.transaction(async (inner) => {
          await inner.users.verifyEmail(user.id)
        })
      })
      expect(await data.users.findById(user.id)).toMatchObject({
        firstName: 'after',
        emailVerified: true,
      })
    })

    it('invalidates the chat when a message is appended, and children on cascade', async () => {
      const user = await data.users.create({ email: uniqueEmail() })
      const chat = await data.chats.create({ userId: user.id, title: 'c' })
      const cached = await data.chats.findById(chat.id)
      await sleep(5)
      const message = await data.messages.append({ chatId: chat.id, role: 'user', content: 'hi' })
      expect((await data.chats.findById(chat.id))!.updatedAt.getTime()).toBeGreaterThan(
        cached!.updatedAt.getTime(),
      )
      expect(await data.messages.findById(message.id)).toMatchObject({ id: message.id })
      await data.users.delete(user.id)
      expect(await data.chats.findById(chat.id)).toBeNull()
      expect(await data.messages.findById(message.id)).toBeNull()
    })

    it('caches first list pages per owner and drops them on every write that changes them', async () => {
      const user = await data.users.create({ email: uniqueEmail() })
      const older = await data.chats.create({ userId: user.id, title: 'older' })
      await sleep(2)
      const newer = await data.chats.create({ userId: user.id, title: 'newer' })
      const first = await data.chats.listByUser(user.id)
      expect(first.items.map((c) => c.title)).toEqual(['newer', 'older'])
      const hits = data.cache.stats().hits
      expect(await data.chats.listByUser(user.id)).toEqual(first)
      expect(data.cache.stats().hits).toBe(hits + 1)

      await sleep(2)
      await data.messages.append({ chatId: older.id, role: 'user', content: 'bump' })
      expect((await data.chats.listByUser(user.id)).items.map((c) => c.title)).toEqual([
        'older',
        'newer',
      ])
      await data.chats.rename(newer.id, 'renamed')
      expect((await data.chats.listByUser(user.id)).items.map((c) => c.title)).toContain('renamed')

      const messages = await data.messages.listByChat(older.id)
      expect(messages.items.map((m) => m.content)).toEqual(['bump'])
      await expect(
        data.transaction(async (tx) => {
          await tx.messages.append({ chatId: older.id, role: 'assistant', content: 'rolled back' })
          throw new Error('undo')
        }),
      ).rejects.toThrow('undo')
      expect(await data.messages.listByChat(older.id)).toEqual(messages)
      await data.messages.append({ chatId: older.id, role: 'assistant', content: 'kept' })
      expect((await data.messages.listByChat(older.id)).items.map((m) => m.content)).toEqual([
        'bump',
        'kept',
      ])
      expect(
        (await data.messages.listByChat(older.id, { order: 'desc', limit: 1 })).items[0]?.content,
      ).toBe('kept')

      await data.chats.delete(newer.id)
      expect((await data.chats.listByUser(user.id)).items.map((c) => c.id)).toEqual([older.id])
      await data.users.delete(user.id)
      expect((await data.chats.listByUser(user.id)).items).toEqual([])
      expect((await data.messages.listByChat(older.id)).items).toEqual([])
    })

    it('keeps cached message lists equal to the database under concurrent appends and reads', async () => {
      const user = await data.users.create({ email: uniqueEmail() })
      const chats = await Promise.all(
        [1, 2, 3].map((i) => data.chats.create({ userId: user.id, title: `c${i}` })),
      )
      let operations = 0
      const work = async (write: boolean) => {
        while (operations < 600) {
          operations++
          const chat = chats[Math.floor(Math.random() * chats.length)]!
          if (write)
            await data.messages.append({ chatId: chat.id, role: 'user', content: `m${operations}` })
          else await data.messages.listByChat(chat.id, { limit: 1000 })
        }
      }
      await Promise.all([
        ...Array.from({ length: 4 }, () => work(true)),
        ...Array.from({ length: 4 }, () => work(false)),
      ])
      for (const chat of chats) {
        const truth = await data.transaction((tx) =>
          tx.messages.listByChat(chat.id, { limit: 1000 }),
        )
        expect(await data.messages.listByChat(chat.id, { limit: 1000 })).toEqual(truth)
      }
      const listed = await data.chats.listByUser(user.id)
      const truth = await data.transaction((tx) => tx.chats.listByUser(user.id))
      expect(listed).toEqual(truth)
    })

    it('keeps every cached row equal to the database under concurrent writers and slow readers', async () => {
      // 8 writers and 8 readers over 50 rows; readers pause between the database read
      // and the cache fill, which is where an unfenced cache stores old values.
      const fencing = process.env.STRATUM_TORTURE_FENCING !== 'off'
      const hooks: CacheTestHooks = {
        fencing,
        beforeFill: async () => {
          if (Math.random() < 0.6) await sleep(Math.random() * 4)
        },
      }
      const torture = await setup.backend.open(
        Object.assign(setup.options(), { [CACHE_TEST_HOOKS]: hooks }),
      )
      const rows = await torture.users.createMany(
        Array.from({ length: 50 }, (_, i) => ({
          email: uniqueEmail(`torture${i}`),
          firstName: 'start',
        })),
      )
      const ids = rows.map((r) => r.id)
      const pick = () => ids[Math.floor(Math.random() * ids.length)]!
      const total = 5000
      let operations = 0
      let writes = 0
      const writer = async () => {
        while (operations < total) {
          operations++
          writes++
          await torture.users.update(pick(), { firstName: `w${randomBytes(3).toString('hex')}` })
        }
      }
      const reader = async () => {
        while (operations < total) {
          operations++
          await torture.users.findById(pick())
        }
      }
      await Promise.all([
        ...Array.from({ length: 8 }, writer),
        ...Array.from({ length: 8 }, reader),
      ])
      // Let fills still in flight finish.
      await sleep(50)
      expect(operations).toBeGreaterThanOrEqual(total)
      expect(writes).toBeGreaterThan(500)
      const stale: string[] = []
      for (const id of ids) {
        const truth = await torture.transaction((tx) => tx.users.findById(id))
        const cached = await torture.cache.get<User>(userKey(id))
        if (cached !== undefined && JSON.stringify(cached) !== JSON.stringify(truth)) stale.push(id)
        expect(await torture.users.findById(id)).toEqual(truth)
      }
      expect(stale, `stale cache entries (fencing ${fencing ? 'on' : 'off'})`).toEqual([])
      expect(torture.cache.stats().fencedFills).toBeGreaterThan(0)
    })
  })
}

describe('cached repositories with Redis unreachable', () => {
  it('serve every call from the database and count the cache errors', async () => {
    const port = await freePort()
    const data = await backends[1]!.open({ redisUrl: `redis://127.0.0.1:${port}` })
    const user = await data.users.create({ email: uniqueEmail(), firstName: 'a' })
    for (let i = 0; i < 20; i++) {
      expect(await data.users.findById(user.id)).toMatchObject({ id: user.id })
      await data.users.update(user.id, { firstName: `n${i}` })
    }
    expect((await data.users.findById(user.id))?.firstName).toBe('n19')
    expect(data.cache.stats().errors).toBeGreaterThan(0)
    expect(data.cache.stats().hits).toBe(0)
    expect((await data.health()).status).toBe('degraded')
  })
})
