import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'drizzle-orm'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import type { DataLayer } from '../../src/index.js'
import { backends, backendTitle, embeddingFrom, uniqueEmail } from '../helpers/backends.js'

const DIMENSIONS = 384

async function person(data: DataLayer, name: string) {
  const user = await data.users.create({ email: uniqueEmail(name), firstName: name })
  const chats = []
  const messages = []
  const files = []
  for (let c = 0; c < 2; c++) {
    const chat = await data.chats.create({ userId: user.id, title: `${name} chat ${c}` })
    chats.push(chat)
    const appended = await data.messages.appendMany(
      [0, 1, 2].map((i) => ({
        chatId: chat.id,
        role: 'user' as const,
        content: `${name} ${c}.${i}`,
      })),
    )
    messages.push(...appended)
    // A file shown by a message of the chat: a row, a link and a blob under the user's prefix.
    const file = await data.attachments.upload({
      chatId: chat.id,
      body: `${name}'s notes ${c}`,
      mediaType: 'text/plain',
    })
    files.push(file)
    messages.push(
      ...(await data.messages.saveUIMessages(chat.id, [
        { id: `${name}-file-${c}`, role: 'user', parts: [await data.attachments.filePart(file)] },
      ])),
    )
    await data.vectors.upsert(
      appended.map((m, i) => ({
        userId: user.id,
        chatId: chat.id,
        messageId: m.id,
        content: m.content,
        embedding: embeddingFrom(i + c * 10, DIMENSIONS),
      })),
    )
  }
  // A pinned note and a rolling summary of the first chat.
  await data.context.pin({ chatId: chats[0]!.id, userId: user.id, content: `${name} likes tea` })
  await data.context.summarize({
    chatId: chats[0]!.id,
    userId: user.id,
    threshold: 0,
    keepRecent: 0,
    summarize: async () => `${name} asked about notes`,
  })
  await data.memory.remember({ userId: user.id, key: 'drink', content: `${name} likes tea` })
  await data.memory.remember({ userId: user.id, key: 'drink', content: `${name} likes coffee` })
  await data.memory.list({ userId: user.id })
  const sessions = [await data.sessions.create(user.id), await data.sessions.create(user.id)]
  await data.blobs.put(`users/${user.id}/avatar.png`, 'png bytes')
  await data.blobs.put(`users/${user.id}/docs/cv.pdf`, 'pdf bytes')
  // Reads that fill the cache: entities, the email pointer, list pages.
  await data.users.findById(user.id)
  await data.users.findByEmail(user.email)
  await data.chats.listByUser(user.id)
  for (const chat of chats) {
    await data.chats.findById(chat.id)
    await data.messages.listByChat(chat.id)
  }
  for (const m of messages) await data.messages.findById(m.id)
  return { user, chats, messages, sessions, files }
}

for (const backend of backends) {
  describe(`users.erase [${backendTitle(backend)}]`, () => {
    let data: DataLayer
    let dir: string
    const prefix = `erase-${process.pid}-${Date.now()}:`
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'stratum-erase-'))
      data = await backend.open({
        embeddings: { dimensions: DIMENSIONS },
        blobs: { dir },
        ...(backend.name === 'postgres' ? { redisUrl: inject('redisUrl'), cache: { prefix } } : {}),
      })
    })
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true })
    })

    it('removes every row, cache key, session and blob of the user, and nothing of another', async () => {
      const ada = await person(data, 'ada')
      const bob = await person(data, 'bob')
      await data.blobs.put('shared/logo.png', 'not a user blob')

      const report = await data.users.erase(ada.user.id)
      expect(report).toEqual({
        userId: ada.user.id,
        rows: { users: 1, chats: 2, messages: 8, vectors: 6, attachments: 2, memories: 2 },
        sessions: 2,
        blobs: [
          `users/${ada.user.id}/avatar.png`,
          ...ada.files.map((f) => f.key),
          `users/${ada.user.id}/docs/cv.pdf`,
        ],
      })

      // Postgres: nothing of Ada's in any table.
      const ids = [ada.user.id, ...ada.chats.map((c) => c.id), ...ada.messages.map((m) => m.id)]
      const count = async (query: ReturnType<typeof sql>) =>
        Number(((await data.db.execute(query)).rows[0] as { n: string | number }).n)
      expect(await count(sql`SELECT count(*) AS n FROM users WHERE id = ${ada.user.id}`)).toBe(0)
      expect(await count(sql`SELECT count(*) AS n FROM chats WHERE user_id = ${ada.user.id}`)).toBe(
        0,
      )
      expect(
        await count(sql`SELECT count(*) AS n FROM chat_vectors WHERE user_id = ${ada.user.id}`),
      ).toBe(0)
      expect(
        await count(
          sql`SELECT count(*) AS n FROM chat_messages WHERE chat_id IN (${sql.join(
            ada.chats.map((c) => sql`${c.id}`),
            sql`, `,
          )})`,
        ),
      ).toBe(0)

      expect(
        await count(sql`SELECT count(*) AS n FROM chat_attachments WHERE user_id = ${ada.user.id}`),
      ).toBe(0)
      const ofChats = (table: string, person: typeof ada) =>
        count(
          sql`SELECT count(*) AS n FROM ${sql.identifier(table)} WHERE chat_id IN (${sql.join(
            person.chats.map((c) => sql`${c.id}`),
            sql`, `,
          )})`,
        )
      expect([await ofChats('chat_notes', ada), await ofChats('chat_summaries', ada)]).toEqual([
        0, 0,
      ])
      expect([await ofChats('chat_notes', bob), await ofChats('chat_summaries', bob)]).toEqual([
        1, 1,
      ])
      expect(
        await count(
          sql`SELECT count(*) AS n FROM blob_deletions WHERE key LIKE ${`users/${ada.user.id}/%`}`,
        ),
      ).toBe(0)
      const left: string[] = []
      for await (const item of data.blobs.listAll()) left.push(item.key)
      expect(left.filter((key) => key.includes(ada.user.id))).toEqual([])
      expect(left.filter((key) => key.includes(bob.user.id))).toHaveLength(4)

      // The cache: on Redis, no key under the prefix names any of Ada's ids or her email.
      if (backend.name === 'postgres') {
        const redis = new Redis(inject('redisUrl'))
        const keys = await redis.keys(`${prefix}*`)
        await redis.quit()
        const named = keys.filter(
          (k) => ids.some((id) => k.includes(id)) || k.includes(encodeURIComponent(ada.user.email)),
        )
        expect(named).toEqual([])
        expect(keys.some((k) => k.includes(bob.user.id))).toBe(true) // Bob's entries stay
      }
      expect(await data.users.findById(ada.user.id)).toBeNull()
      expect(await data.users.findByEmail(ada.user.email)).toBeNull()
      expect((await data.chats.listByUser(ada.user.id)).items).toEqual([])
      for (const s of ada.sessions) expect(await data.sessions.get(s.id)).toBeNull()
      expect(await data.blobs.exists(`users/${ada.user.id}/avatar.png`)).toBe(false)

      // Bob is untouched.
      expect(await data.users.findById(bob.user.id)).toEqual(bob.user)
      expect((await data.chats.listByUser(bob.user.id)).items).toHaveLength(2)
      expect(
        await data.vectors.search({
          userId: bob.user.id,
          embedding: embeddingFrom(0, DIMENSIONS),
          limit: 10,
        }),
      ).toHaveLength(6)
      for (const s of bob.sessions) expect(await data.sessions.get(s.id)).not.toBeNull()
      expect(await data.blobs.exists(`users/${bob.user.id}/avatar.png`)).toBe(true)
      expect(await data.blobs.exists('shared/logo.png')).toBe(true)

      // Again: nothing left to remove, no error.
      expect(await data.users.erase(ada.user.id)).toEqual({
        userId: ada.user.id,
        rows: { users: 0, chats: 0, messages: 0, vectors: 0, attachments: 0, memories: 0 },
        sessions: 0,
        blobs: [],
      })
    })

    it('refuses inside a transaction and checks the id', async () => {
      const user = await data.users.create({ email: uniqueEmail('tx') })
      await expect(
        // @ts-expect-error erase() is absent from a transaction's type; untyped code is refused at run time
        data.transaction((tx) => tx.users.erase(user.id)),
      ).rejects.toMatchObject({ code: 'TRANSACTION_MISUSE' })
      await expect(data.users.erase("1'; DROP TABLE users; --")).rejects.toMatchObject({
        code: 'VALIDATION',
      })
      expect(await data.users.findById(user.id)).not.toBeNull()
    })
  })
}
