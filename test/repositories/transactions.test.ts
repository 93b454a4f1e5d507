import { sql } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import type { DataLayer } from '../../src/index.js'
import { backendsWithPooler as backends, backendTitle, uniqueEmail } from '../helpers/backends.js'

for (const backend of backends) {
  describe(`transactions [${backendTitle(backend)}]`, () => {
    let data: DataLayer
    beforeAll(async () => {
      data = await backend.open()
    })

    it('commits everything the callback did and returns its result', async () => {
      const email = uniqueEmail()
      const chatId = await data.transaction(async (tx) => {
        const user = await tx.users.create({ email })
        const chat = await tx.chats.create({ userId: user.id, title: 't' })
        await tx.messages.append({ chatId: chat.id, role: 'user', content: 'in tx' })
        return chat.id
      })
      expect(await data.users.findByEmail(email)).not.toBeNull()
      expect(await data.messages.count({ chatId })).toBe(1)
    })

    it('leaves no rows when the callback throws', async () => {
      const email = uniqueEmail()
      const before = { users: await data.users.count(), chats: await data.chats.count() }
      const reason = new Error('changed my mind')
      await expect(
        data.transaction(async (tx) => {
          const user = await tx.users.create({ email })
          await tx.chats.create({ userId: user.id, title: 'gone' })
          throw reason
        }),
      ).rejects.toBe(reason)
      expect(await data.users.findByEmail(email)).toBeNull()
      expect({ users: await data.users.count(), chats: await data.chats.count() }).toEqual(before)
    })

    it('rolls back a failed savepoint only', async () => {
      const outer = uniqueEmail()
      const inner = uniqueEmail()
      await data.transaction(async (tx) => {
        await tx.users.create({ email: outer })
        await expect(
          tx.transaction(async (nested) => {
            await nested.users.create({ email: inner })
            throw new Error('inner fails')
          }),
        ).rejects.toThrow('inner fails')
      })
      expect(await data.users.findByEmail(outer)).not.toBeNull()
      expect(await data.users.findByEmail(inner)).toBeNull()
    })

    it('refuses the outer handle inside a transaction instead of hanging', async () => {
      const email = uniqueEmail()
      await expect(
        data.transaction(async (tx) => {
          await tx.users.create({ email })
          await data.users.findByEmail(email)
        }),
      ).rejects.toMatchObject({ code: 'TRANSACTION_MISUSE' })
      await expect(
        data.transaction(async () => {
          await data.db.execute(sql`select 1`)
        }),
      ).rejects.toMatchObject({ code: 'TRANSACTION_MISUSE' })
      await expect(data.transaction(() => data.transaction(async () => 1))).rejects.toMatchObject({
        code: 'TRANSACTION_MISUSE',
      })
      // The failed transactions were rolled back and the layer still works.
      expect(await data.users.findByEmail(email)).toBeNull()
      await expect(data.users.count()).resolves.toBeGreaterThanOrEqual(0)
    })

    it('runs at the requested isolation level and access mode', async () => {
      const level = await data.transaction(
        async (tx) =>
          (
            await tx.db.execute<{ level: string }>(
              sql`select current_setting('transaction_isolation') as level`,
            )
          ).rows[0]?.level,
        { isolationLevel: 'serializable' },
      )
      expect(level).toBe('serializable')
      await expect(
        data.transaction((tx) => tx.users.create({ email: uniqueEmail() }), {
          accessMode: 'read only',
        }),
      ).rejects.toMatchObject({ code: 'DATABASE', details: { sqlState: '25006' } })
    })

    // PGlite has one session, so only a server has "another session" to check against.
    if (backend.server)
      it('keeps work in the transaction invisible to other sessions until commit', async () => {
        const email = uniqueEmail()
        const other = await backend.reopen(data)
        await data.transaction(async (tx) => {
          await tx.users.create({ email })
          expect(await other.users.findByEmail(email)).toBeNull()
        })
        expect(await other.users.findByEmail(email)).not.toBeNull()
      })
  })
}
