import { beforeAll, describe, expect, it } from 'vitest'
import type { DataLayer } from '../../src/index.js'
import { backendsWithPooler as backends, backendTitle, uniqueEmail } from '../helpers/backends.js'
import { failure } from '../helpers/failure.js'

for (const backend of backends) {
  describe(`users [${backendTitle(backend)}]`, () => {
    let data: DataLayer
    beforeAll(async () => {
      data = await backend.open()
    })

    it('creates a user with defaults and finds it by id and by email in any case', async () => {
      const email = uniqueEmail('Ada')
      const user = await data.users.create({ email: `  ${email.toUpperCase()} `, firstName: 'Ada' })
      expect(user.email).toBe(email.toLowerCase())
      expect(user.emailVerified).toBe(false)
      expect(user.createdAt).toBeInstanceOf(Date)
      expect(user.lastLogin).toBeNull()
      expect(await data.users.findById(user.id)).toEqual(user)
      expect(await data.users.findByEmail(email.toUpperCase())).toEqual(user)
      expect(await data.users.findById('00000000-0000-0000-0000-000000000000')).toBeNull()
    })

    it('gives CONFLICT for a duplicate email in another case, and writes nothing', async () => {
      const email = uniqueEmail()
      await data.users.create({ email })
      const before = await data.users.count()
      const error = await failure(() => data.users.create({ email: email.toUpperCase() }))
      expect(error.code).toBe('CONFLICT')
      expect(error.message).toContain('users_email_lower_key')
      expect(error.message).not.toContain(email)
      expect(await data.users.count()).toBe(before)
    })

    it('gives VALIDATION with field paths for bad input, before any SQL', async () => {
      const before = await data.users.count()
      const bad = await failure(() =>
        data.users.create({ email: 'not-an-email', firstName: 42 as never }),
      )
      expect(bad.code).toBe('VALIDATION')
      expect(
        (bad as unknown as { issues: { path: string }[] }).issues.map((i) => i.path).sort(),
      ).toEqual(['email', 'firstName'])
      const unknown = await failure(() =>
        data.users.create({ email: uniqueEmail(), admin: true } as never),
      )
      expect(unknown.code).toBe('VALIDATION')
      expect(unknown.message).toContain('admin')
      const long = await failure(() =>
        data.users.create({ email: uniqueEmail(), firstName: 'x'.repeat(256) }),
      )
      expect(long.code).toBe('VALIDATION')
      const nul = await failure(() =>
        data.users.create({ email: uniqueEmail(), lastName: 'a\u0000b' }),
      )
      expect(nul.code).toBe('VALIDATION')
      const badId = await failure(() => data.users.findById('not-a-uuid'))
      expect(badId.code).toBe('VALIDATION')
      expect(await data.users.count()).toBe(before)
    })

    it('stores injection strings verbatim and filters on them safely', async () => {
      const hostile = `Robert'); DROP TABLE users; --`
      const user = await data.users.create({
        email: uniqueEmail(),
        firstName: hostile,
        lastName: '$1 \\ " \u{1F600}',
      })
      const found = await data.users.findMany({ where: { firstName: hostile } })
      expect(found.map((u) => u.id)).toEqual([user.id])
      expect(found[0]!.lastName).toBe('$1 \\ " \u{1F600}')
      expect(await data.users.exists({ firstName: { like: `%DROP TABLE%` } })).toBe(true)
      expect(await data.users.count()).toBeGreaterThan(0)
      const error = await failure(() =>
        data.users.findMany({ where: { 'email; drop table users': 'x' } as never }),
      )
      expect(error.code).toBe('VALIDATION')
    })

    it('records logins, verifies emails and updates, with NOT_FOUND for a missing user', async () => {
      const user = await data.users.create({ email: uniqueEmail() })
      const loggedIn = await data.users.recordLogin(user.id)
      expect(loggedIn.lastLogin).toBeInstanceOf(Date)
      expect((await data.users.verifyEmail(user.id)).emailVerified).toBe(true)
      const renamed = await data.users.update(user.id, { firstName: 'Grace' })
      expect(renamed.firstName).toBe('Grace')
      expect(renamed.updatedAt.getTime()).toBeGreaterThanOrEqual(user.updatedAt.getTime())
      const missing = '00000000-0000-4000-8000-000000000000'
      expect((await failure(() => data.users.recordLogin(missing))).code).toBe('NOT_FOUND')
      expect((await failure(() => data.users.update(missing, { firstName: 'x' }))).code).toBe(
        'NOT_FOUND',
      )
      expect((await failure(() => data.users.update(user.id, { id: missing } as never))).code).toBe(
        'VALIDATION',
      )
    })

    it('upserts on a unique column and deletes', async () => {
      const user = await data.users.create({ email: uniqueEmail() })
      const upserted = await data.users.upsert({ id: user.id, email: user.email, firstName: 'Up' })
      expect(upserted).toMatchObject({ id: user.id, firstName: 'Up' })
      expect(await data.users.delete(user.id)).toBe(true)
      expect(await data.users.delete(user.id)).toBe(false)
      expect(await data.users.findById(user.id)).toBeNull()
    })

    it('creates many in batches, all or nothing', async () => {
      const emails = Array.from({ length: 25 }, () => uniqueEmail('batch'))
      const rows = await data.users.createMany(
        emails.map((email) => ({ email })),
        { batchSize: 7 },
      )
      expect(rows.map((r) => r.email)).toEqual(emails)
      const before = await data.users.count()
      const duplicate = await failure(() =>
        data.users.createMany([{ email: uniqueEmail() }, { email: emails[0]! }], { batchSize: 1 }),
      )
      expect(duplicate.code).toBe('CONFLICT')
      const invalid = await failure(() =>
        data.users.createMany([{ email: uniqueEmail() }, { email: 'nope' }]),
      )
      expect(invalid.code).toBe('VALIDATION')
      expect(invalid.message).toContain('[1].email')
      expect(await data.users.count()).toBe(before)
    })

    it('deleting a user removes their chats, messages and vectors', async () => {
      const user = await data.users.create({ email: uniqueEmail() })
      const chat = await data.chats.create({ userId: user.id, title: 'doomed' })
      const message = await data.messages.append({ chatId: chat.id, role: 'user', content: 'bye' })
      const embedding = Array.from({ length: data.embeddingDimensions }, (_, i) =>
        i === 0 ? 1 : 0,
      )
      await data.vectors.upsert([
        { userId: user.id, chatId: chat.id, messageId: message.id, content: 'bye', embedding },
      ])
      await data.users.delete(user.id)
      expect(await data.chats.count({ userId: user.id })).toBe(0)
      expect(await data.messages.count({ chatId: chat.id })).toBe(0)
      expect(await data.repository(data.vectors.table).count({ userId: user.id })).toBe(0)
    })
  })
}
