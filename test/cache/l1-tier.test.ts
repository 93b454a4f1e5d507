import { randomBytes } from 'node:crypto'
import { sql } from 'drizzle-orm'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import type { DataLayer } from '../../src/index.js'
import { backends, backendTitle, uniqueEmail } from '../helpers/backends.js'

const server = backends.find((b) => b.name === 'postgres')!
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Polls until `check` holds, for at most `ms`; resolves to whether it did. */
async function eventually(check: () => Promise<boolean> | boolean, ms = 3000): Promise<boolean> {
  const until = Date.now() + ms
  while (Date.now() < until) {
    if (await check()) return true
    await sleep(10)
  }
  return check()
}

describe(`the L1 tier over Redis, two instances [${backendTitle(server)}]`, () => {
  let a: DataLayer
  let b: DataLayer
  let admin: Redis
  const prefix = `l1:${randomBytes(4).toString('hex')}:`

  beforeAll(async () => {
    // A 60 s L1 lifetime: only an invalidation message can make an instance see a change soon.
    const options = {
      redisUrl: inject('redisUrl'),
      cache: { prefix, l1: { enabled: true, ttlMs: 60_000 } },
    }
    a = await server.open(options)
    b = await server.reopen(a)
    admin = new Redis(inject('redisUrl'))
    expect(await eventually(() => a.cache.l1Live && b.cache.l1Live)).toBe(true)
  })
  afterAll(() => {
    admin.disconnect()
  })

  it('serves repeated reads from process memory, each caller getting its own copy', async () => {
    const user = await a.users.create({ email: uniqueEmail('l1') })
    const chat = await a.chats.create({ userId: user.id, title: 'copies' })
    const message = await a.messages.append({
      chatId: chat.id,
      role: 'user',
      content: 'hello',
      metadata: { n: 1, nested: { list: [1, 2] } },
    })
    await a.messages.findById(message.id) // miss: fills Redis and the L1
    const before = a.cache.stats().l1Hits
    const first = (await a.messages.findById(message.id))!
    first.content = 'mutated by a caller'
    ;(first.metadata as { nested: { list: number[] } }).nested.list.push(3)
    first.createdAt.setTime(0)
    const second = (await a.messages.findById(message.id))!
    expect(a.cache.stats().l1Hits - before).toBe(2)
    expect(second).toEqual(message)
    expect(second.createdAt).toBeInstanceOf(Date)
  })

  it("drops an entry in every instance when one instance writes, long before the L1's TTL", async () => {
    const user = await a.users.create({ email: uniqueEmail('l1'), firstName: 'v1' })
    await a.users.findById(user.id)
    await a.users.findById(user.id)
    await b.users.findById(user.id)
    await b.users.findById(user.id)
    const hitsBefore = a.cache.stats().l1Hits
    expect(hitsBefore).toBeGreaterThan(0)

    await b.users.update(user.id, { firstName: 'v2' })
    // The writer's own L1 is dropped before the write returns.
    expect((await b.users.findById(user.id))?.firstName).toBe('v2')
    // Another instance sees it as soon as the message arrives.
    expect(
      await eventually(async () => (await a.users.findById(user.id))?.firstName === 'v2'),
    ).toBe(true)
  })

  it('keeps every instance equal to the database under cross-instance writes and reads', async () => {
    const rows = await a.users.createMany(
      Array.from({ length: 20 }, (_, i) => ({ email: uniqueEmail(`l1t${i}`), firstName: 'start' })),
    )
    const pick = () => rows[Math.floor(Math.random() * rows.length)]!.id
    let operations = 0
    const writer = async () => {
      while (operations < 2000) {
        operations++
        await b.users.update(pick(), { firstName: `w${randomBytes(3).toString('hex')}` })
      }
    }
    const reader = async () => {
      while (operations < 2000) {
        operations++
        await a.users.findById(pick())
      }
    }
    await Promise.all([...Array.from({ length: 4 }, writer), ...Array.from({ length: 4 }, reader)])
    expect(a.cache.stats().l1Hits).toBeGreaterThan(0)

    const mismatched = async () => {
      const wrong: string[] = []
      for (const row of rows) {
        const truth = await a.transaction((tx) => tx.users.findById(row.id))
        if (JSON.stringify(await a.users.findById(row.id)) !== JSON.stringify(truth)) {
          wrong.push(row.id)
        }
      }
      return wrong
    }
    // Messages still in flight settle within moments, never by the 60 s TTL.
    await sleep(200)
    expect(await mismatched()).toEqual([])
  })

  it('starts over empty when its subscription reconnects (messages may have been lost)', async () => {
    const user = await a.users.create({ email: uniqueEmail('l1') })
    await a.users.findById(user.id)
    await a.users.findById(user.id)
    const resets = a.cache.stats().l1Resets
    await admin.client('KILL', 'TYPE', 'pubsub')
    // Emptied when the connection drops and again once it is subscribed anew.
    expect(await eventually(() => a.cache.stats().l1Resets >= resets + 2 && a.cache.l1Live)).toBe(
      true,
    )
    const before = a.cache.stats()
    await a.users.findById(user.id)
    const after = a.cache.stats()
    expect(after.l1Hits - before.l1Hits).toBe(0)
    expect(after.hits - before.hits).toBe(1) // from Redis
    await a.users.findById(user.id)
    expect(a.cache.stats().l1Hits - after.l1Hits).toBe(1)
  })
})

describe(`the L1 tier's lifetime bounds staleness when a message is lost [${backendTitle(server)}]`, () => {
  it('serves a missed change for at most ttlMs', async () => {
    const prefix = `l1ttl:${randomBytes(4).toString('hex')}:`
    const data = await server.open({
      redisUrl: inject('redisUrl'),
      cache: { prefix, l1: { enabled: true, ttlMs: 500 } },
    })
    expect(await eventually(() => data.cache.l1Live)).toBe(true)
    const user = await data.users.create({ email: uniqueEmail('l1ttl'), firstName: 'old' })
    await data.users.findById(user.id)
    expect((await data.users.findById(user.id))?.firstName).toBe('old')
    // A change whose message is lost: the row and the Redis entry change, no message is sent.
    await data.db.execute(sql`update users set first_name = 'new' where id = ${user.id}`)
    const admin = new Redis(inject('redisUrl'))
    await admin.del(`${prefix}{e:users:${user.id}}`)
    admin.disconnect()
    expect((await data.users.findById(user.id))?.firstName).toBe('old')
    await sleep(800) // past the 500 ms lifetime
    expect((await data.users.findById(user.id))?.firstName).toBe('new')
  })
})
