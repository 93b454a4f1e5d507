import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import type { Chat, ChatEvent, DataLayer, User } from '../../src/index.js'
import { startLocalRedis } from '../../src/testing/local-redis.js'
import type { RunningService } from '../../src/testing/running-service.js'
import { backends, uniqueEmail } from '../helpers/backends.js'
import { failure } from '../helpers/failure.js'
import { waitFor } from '../helpers/wait-for.js'

// Issue #19, live state: the same tests on the embedded default (in-process), on Redis and on
// a Redis Cluster. On Redis the watcher is a second data layer, as another process would be.

const [pglite, postgres] = backends as [(typeof backends)[0], (typeof backends)[0]]
const prefix = () => `live-${randomBytes(4).toString('hex')}:`

const setups = [
  {
    title: 'embedded default: one process',
    scope: 'process',
    open: async (): Promise<[DataLayer, DataLayer]> => {
      const data = await pglite.open()
      return [data, data]
    },
  },
  {
    title: `Redis (${inject('redisDescription')}): the watcher in another data layer`,
    scope: 'shared',
    open: async (): Promise<[DataLayer, DataLayer]> => {
      const writer = await postgres.open({
        redisUrl: inject('redisUrl'),
        cache: { prefix: prefix() },
      })
      return [writer, await postgres.reopen(writer)]
    },
  },
  {
    title: `${inject('redisClusterDescription')}: the watcher in another data layer`,
    scope: 'shared',
    open: async (): Promise<[DataLayer, DataLayer]> => {
      const writer = await postgres.open({
        cache: { prefix: prefix(), redis: { clusterNodes: inject('redisClusterNodes') } },
      })
      return [writer, await postgres.reopen(writer)]
    },
  },
] as const

for (const setup of setups) {
  describe(`live state [${setup.title}]`, () => {
    let writer: DataLayer
    let watcher: DataLayer
    let user: User
    beforeAll(async () => {
      ;[writer, watcher] = await setup.open()
      user = await writer.users.create({ email: uniqueEmail() })
    })

    /** Watches a new chat from the watcher's data layer; `events` fills as they arrive. */
    async function watched(): Promise<{ chat: Chat; events: ChatEvent[]; close(): Promise<void> }> {
      const chat = await writer.chats.create({ userId: user.id })
      const events: ChatEvent[] = []
      const subscription = await watcher.live.watch(chat.id, { onEvent: (e) => events.push(e) })
      return { chat, events, close: () => subscription.close() }
    }
    const until = (events: ChatEvent[], n: number) =>
      waitFor(`${n} events`, async () => events.length >= n)

    it(`reaches ${setup.scope === 'shared' ? 'every process' : 'this process'}`, () => {
      expect(writer.live.scope).toBe(setup.scope)
    })

    it('feeds message writes in order: added, a streamed reply updated and finished, a branch switch', async () => {
      const { chat, events, close } = await watched()
      await writer.messages.saveUIMessages(chat.id, [
        { id: 'u1', role: 'user', parts: [{ type: 'text', text: 'Hello' }] },
      ])
      const reply = await writer.messages.startReply(chat.id, { flushIntervalMs: 0 })
      reply.update({ parts: [{ type: 'text', text: 'Hi' }] })
      await reply.flush()
      reply.update({ parts: [{ type: 'text', text: 'Hi there' }] })
      await reply.finish({ finishReason: 'stop' })
      await writer.messages.switchBranch(chat.id, 'u1')
      await until(events, 6)
      expect(events.map((e) => [e.type, 'status' in e ? e.status : undefined])).toEqual([
        ['message-added', 'complete'],
        ['message-added', 'streaming'],
        ['message-updated', 'streaming'],
        ['message-updated', 'streaming'],
        ['message-finished', 'complete'],
        ['branch-switched', undefined],
      ])
      expect(events[0]).toMatchObject({
        chatId: chat.id,
        messageId: 'u1',
        seq: 1,
        message: { id: 'u1', role: 'user', parts: [{ type: 'text', text: 'Hello' }] },
      })
      expect(events[4]).toMatchObject({
        messageId: reply.id,
        seq: 2,
        message: { id: reply.id, role: 'assistant', parts: [{ type: 'text', text: 'Hi there' }] },
      })
      for (const event of events) expect(Number.isNaN(Date.parse(event.at))).toBe(false)
      await close()
    })

    it('leaves the message out of an event that would be over 64 KiB', async () => {
      const { chat, events, close } = await watched()
      await writer.messages.append({ chatId: chat.id, role: 'user', content: 'x'.repeat(70_000) })
      await writer.messages.append({ chatId: chat.id, role: 'user', content: 'small' })
      await until(events, 2)
      expect(events[0]).toMatchObject({ type: 'message-added', seq: 1 })
      expect(events[0]).not.toHaveProperty('message')
      expect(events[1]).toMatchObject({ message: { parts: [{ type: 'text', text: 'small' }] } })
      await close()
    })

    it('publishes a transaction’s events after COMMIT, and none after a rollback', async () => {
      const { chat, events, close } = await watched()
      const rolledBack = await failure(() =>
        writer.transaction(async (tx) => {
          await tx.messages.append({ chatId: chat.id, role: 'user', content: 'never' })
          throw new Error('changed my mind')
        }),
      )
      expect(rolledBack.message).toMatch(/changed my mind/)
      await writer.transaction(async (tx) => {
        await tx.messages.append({ chatId: chat.id, role: 'user', content: 'kept' })
      })
      await until(events, 1)
      // One publisher, one channel: had the rolled-back write published, it would be first.
      expect(events).toHaveLength(1)
      expect(events[0]).toMatchObject({
        type: 'message-added',
        message: { parts: [{ type: 'text', text: 'kept' }] },
      })
      await close()
    })

    it('tells presence and typing with their expiry; each lapses on its own', async () => {
      const { chat, events, close } = await watched()
      expect(await writer.live.join(chat.id, 'ada')).toBe(true)
      expect(await writer.live.join(chat.id, 'ada')).toBe(false) // a heartbeat
      expect(await writer.live.typing(chat.id, 'bob', { ttlMs: 200 })).toBe(true)
      await until(events, 3)
      expect(events[0]).toMatchObject({ type: 'presence', member: 'ada', active: true })
      expect(Date.parse((events[0] as { expiresAt: string }).expiresAt)).toBeGreaterThan(
        Date.now() + 20_000,
      )
      expect(events[2]).toMatchObject({ type: 'typing', member: 'bob', active: true })
      const now = await watcher.live.presence(chat.id)
      expect(now.present.map((p) => p.member)).toEqual(['ada'])

      await new Promise((resolve) => setTimeout(resolve, 400))
      expect((await watcher.live.presence(chat.id)).typing).toEqual([])
      expect(await writer.live.stopTyping(chat.id, 'bob')).toBe(false) // lapsed already
      expect(await writer.live.leave(chat.id, 'ada')).toBe(true)
      await until(events, 4)
      expect(events[3]).toMatchObject({ type: 'presence', member: 'ada', active: false })
      expect(events[3]).not.toHaveProperty('expiresAt')
      expect(await watcher.live.presence(chat.id)).toEqual({ present: [], typing: [] })
      await close()
    })

    it('keeps feeding the other watchers when one handler throws', async () => {
      const chat = await writer.chats.create({ userId: user.id })
      const events: ChatEvent[] = []
      const failing = await watcher.live.watch(chat.id, {
        onEvent: () => {
          throw new Error('a bug in the app')
        },
      })
      const working = await watcher.live.watch(chat.id, { onEvent: (e) => events.push(e) })
      await writer.messages.append({ chatId: chat.id, role: 'user', content: 'one' })
      await writer.messages.append({ chatId: chat.id, role: 'user', content: 'two' })
      await until(events, 2)
      expect(events.map((e) => e.type)).toEqual(['message-added', 'message-added'])
      await failing.close()
      await working.close()
    })

    it('refuses bad input with VALIDATION before reaching the backend', async () => {
      const chat = await writer.chats.create({ userId: user.id })
      const cases: [() => Promise<unknown>, string][] = [
        [() => writer.live.watch('chat-1', { onEvent: () => {} }), 'chatId'],
        [() => writer.live.watch(chat.id, { onEvent: 'log' as never }), 'onEvent'],
        [() => writer.live.join(chat.id, ''), 'member'],
        [() => writer.live.join(chat.id, 'x'.repeat(2000)), 'member'],
        [() => writer.live.typing(chat.id, 'ada', { ttlMs: Number.NaN }), 'ttlMs'],
        [() => writer.live.join(chat.id, 'ada', { ttlMs: 1.5 }), 'ttlMs'],
        [() => writer.live.join(chat.id, 'ada', { ttlMs: 10 }), 'ttlMs'],
        [() => writer.live.presence(42 as never), 'chatId'],
      ]
      for (const [call, path] of cases) {
        const error = await failure(call)
        expect(error.code).toBe('VALIDATION')
        expect(error.issues?.[0]?.path).toBe(path)
      }
      expect(await writer.live.presence(chat.id)).toEqual({ present: [], typing: [] })
    })
  })
}

describe("live state when the subscriber's connection drops [a Redis server of its own]", () => {
  // A server of its own: cutting every pub/sub connection on the shared test server would
  // cut the other test files' subscriptions too.
  let redis: RunningService
  beforeAll(async () => {
    redis = await startLocalRedis()
  })
  afterAll(async () => redis?.stop())

  it('gives the watcher a reset, then events again once it is back', async () => {
    const data = await postgres.open({ redisUrl: redis.url, cache: { prefix: prefix() } })
    const user = await data.users.create({ email: uniqueEmail() })
    const chat = await data.chats.create({ userId: user.id })
    const events: ChatEvent[] = []
    const watching = await data.live.watch(chat.id, { onEvent: (e) => events.push(e) })
    const admin = new Redis(redis.url)
    try {
      expect(await admin.client('KILL', 'TYPE', 'pubsub')).toBe(1)
      await waitFor('the reset', async () => events.some((e) => e.type === 'reset'))
      expect(events.find((e) => e.type === 'reset')).toMatchObject({ chatId: chat.id })
      await waitFor('the subscription to be back', async () => watching.live)
      await data.messages.append({ chatId: chat.id, role: 'user', content: 'after' })
      await waitFor('the event after the reset', async () =>
        events.some((e) => e.type === 'message-added'),
      )
    } finally {
      admin.disconnect()
      await watching.close()
    }
  })
})

describe('live state after close', () => {
  let data: DataLayer
  beforeAll(async () => {
    data = await pglite.open()
    await data.close()
  })
  afterAll(async () => {})
  it('is CLOSED', async () => {
    const error = await failure(() => data.live.join(crypto.randomUUID(), 'ada'))
    expect(error.code).toBe('CLOSED')
  })
})
