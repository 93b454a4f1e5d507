import { beforeAll, describe, expect, it } from 'vitest'
import type { DataLayer, User } from '../../src/index.js'
import { backends, backendTitle, uniqueEmail } from '../helpers/backends.js'
import { failure } from '../helpers/failure.js'

const DIMENSIONS = 1536
/** A unit vector along `axis`, a little towards `toward`: a stand-in for an embedding model. */
const along = (axis: number, toward = axis, weight = 0) =>
  Array.from({ length: DIMENSIONS }, (_, i) => (i === axis ? 1 : i === toward ? weight : 0))
const ZURICH = 0
const TAX = 1

for (const backend of backends) {
  describe(`searching a user's chats by text and meaning [${backendTitle(backend)}]`, () => {
    let data: DataLayer
    let alice: User
    let bob: User
    const chatIds: Record<string, string> = {}
    beforeAll(async () => {
      data = await backend.open()
      alice = await data.users.create({ email: uniqueEmail('alice') })
      bob = await data.users.create({ email: uniqueEmail('bob') })
      const chats: [string, User, [string, number, number?][]][] = [
        [
          'trip',
          alice,
          [
            ['Our trip to Zürich in May', ZURICH],
            ['Trains from Zürich to Bern', ZURICH, 0.3],
          ],
        ],
        ['tax', alice, [['The tax invoice for March', TAX]]],
        ['archived', alice, [['Zürich restaurants we liked', ZURICH, 0.5]]],
        ['deleted', alice, [['Zürich hotel booking', ZURICH]]],
        ['bobs', bob, [['Zürich is where Bob lives', ZURICH]]],
      ]
      for (const [name, user, messages] of chats) {
        const chat = await data.chats.create({ userId: user.id, title: name })
        chatIds[name] = chat.id
        for (const [content, axis, weight] of messages) {
          const message = await data.messages.append({ chatId: chat.id, role: 'user', content })
          await data.vectors.upsert([
            {
              userId: user.id,
              chatId: chat.id,
              messageId: message.id,
              content,
              embedding: along(axis, TAX, weight ?? 0),
            },
          ])
        }
      }
      await data.chats.archive(chatIds.archived!)
      await data.chats.softDelete(chatIds.deleted!)
    })

    it("finds the user's chats that match, best first, with their matching chunks; never another user's, never deleted", async () => {
      const found = await data.vectors.searchChats({
        userId: alice.id,
        text: 'Zürich',
        embedding: along(ZURICH),
      })
      expect(found.map((r) => r.chat.title)).toEqual(['trip', 'tax'])
      const [trip] = found
      expect(trip!.matches.map((m) => m.content)).toEqual([
        'Our trip to Zürich in May',
        'Trains from Zürich to Bern',
      ])
      expect(trip!.score).toBe(trip!.matches[0]!.score)
      // The tax chat matched by meaning only (its vector is the nearest left), after the trip.
      expect(found[1]!.matches[0]!.textRank).toBeNull()

      const withArchived = await data.vectors.searchChats({
        userId: alice.id,
        text: 'Zürich',
        embedding: along(ZURICH),
        includeArchived: true,
        limit: 2,
        matchesPerChat: 1,
      })
      expect(withArchived.map((r) => r.chat.title)).toEqual(['trip', 'archived'])
      expect(withArchived[0]!.matches).toHaveLength(1)

      const bobs = await data.vectors.searchChats({
        userId: bob.id,
        text: 'Zürich',
        embedding: along(ZURICH),
      })
      expect(bobs.map((r) => r.chat.title)).toEqual(['bobs'])
    })

    it('refuses a search without a user, with a wrong embedding or bad options', async () => {
      const bad = [
        { text: 'x', embedding: along(0) },
        { userId: alice.id, text: 'x', embedding: [1, 2, 3] },
        { userId: alice.id, text: 'x', embedding: along(0), limit: 0 },
        { userId: alice.id, text: 'x', embedding: along(0), other: 1 },
      ]
      for (const options of bad) {
        expect((await failure(() => data.vectors.searchChats(options as never))).code).toBe(
          'VALIDATION',
        )
      }
    })
  })
}
