import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { notes, notesTable } from '../../examples/extension-notes/src/index.js'
import { createDataLayer, defineExtension } from '../../src/index.js'
import { backends, backendTitle } from '../helpers/backends.js'

const exampleMigrations = join(import.meta.dirname, '../../examples/extension-notes/drizzle')
let oldDated: string

beforeAll(async () => {
  // The notes migrations with dates from 2001: older than every core migration.
  oldDated = await mkdtemp(join(tmpdir(), 'stratum-old-migrations-'))
  await cp(exampleMigrations, oldDated, { recursive: true })
  const journalPath = join(oldDated, 'meta', '_journal.json')
  const journal = JSON.parse(await readFile(journalPath, 'utf8'))
  for (const [i, entry] of journal.entries.entries()) entry.when = Date.UTC(2001, 0, 1 + i)
  await writeFile(journalPath, JSON.stringify(journal))
})
afterAll(async () => {
  await rm(oldDated, { recursive: true, force: true })
})

for (const backend of backends) {
  describe(`extensions on ${backendTitle(backend)}`, () => {
    it('applies an extension migration dated before the newest core migration', async () => {
      const coreJournal = JSON.parse(
        await readFile(join(import.meta.dirname, '../../drizzle/meta/_journal.json'), 'utf8'),
      )
      const newestCore = Math.max(...coreJournal.entries.map((e: { when: number }) => e.when))
      const extension = defineExtension({
        name: 'old-notes',
        migrations: { folder: oldDated },
        tables: [notesTable],
        api: (scope) => scope.repository(notesTable),
      })
      const journal = JSON.parse(await readFile(join(oldDated, 'meta', '_journal.json'), 'utf8'))
      expect(journal.entries.every((e: { when: number }) => e.when < newestCore)).toBe(true)

      // Core first, on its own; then the extension arrives later with older dates.
      const data = await backend.openEmpty()
      expect((await data.migrate()).applied).toHaveLength(coreJournal.entries.length)
      const withExtension = await createDataLayer({
        extensions: [extension],
        ...(backend.name === 'postgres'
          ? { databaseUrl: (await import('../helpers/backends.js')).databaseUrlOf(data) }
          : { database: { client: (data as unknown as { db: { $client: never } }).db.$client } }),
      })
      try {
        const { applied } = await withExtension.migrate()
        expect(applied.map((m) => `${m.set}/${m.tag}`)).toEqual([
          'old-notes/0000_create_notes',
          'old-notes/0001_pinned_index',
        ])
        // Shared table by default (no `table` given), told apart by set name.
        const rows = await withExtension.db.execute<{ set_name: string; n: number }>(
          sql`SELECT set_name, count(*)::int AS n FROM stratum_migrations GROUP BY set_name ORDER BY set_name`,
        )
        expect(rows.rows).toEqual([
          { set_name: 'core', n: coreJournal.entries.length },
          { set_name: 'old-notes', n: 2 },
        ])
        expect((await withExtension.migrate()).applied).toEqual([])
        const user = await withExtension.users.create({ email: 'old@example.com' })
        const note = await withExtension.ext['old-notes'].create({ userId: user.id, title: 'x' })
        expect(note.title).toBe('x')
      } finally {
        await withExtension.close()
      }
    })

    it('invalidates cached extension rows that a core delete reaches by cascade or SET NULL', async () => {
      // On the server, rows are cached only with a shared cache: Redis.
      const data = await backend.open({
        extensions: [notes()],
        ...(backend.name === 'postgres' ? { redisUrl: inject('redisUrl') } : {}),
      } as never)
      expect(data.cache.kind).toBe(backend.name === 'postgres' ? 'redis' : 'memory')
      const ext = (
        data as unknown as {
          ext: { notes: import('../../examples/extension-notes/src/index.js').NotesRepository }
        }
      ).ext
      const user = await data.users.create({ email: 'cascade@example.com' })
      const chat = await data.chats.create({ userId: user.id, title: 't' })
      const note = await ext.notes.create({ userId: user.id, chatId: chat.id, title: 'n' })
      expect((await ext.notes.findById(note.id))?.chatId).toBe(chat.id) // now cached
      await data.chats.delete(chat.id)
      expect((await ext.notes.findById(note.id))?.chatId).toBeNull()
      await data.transaction((tx) => tx.users.delete(user.id))
      expect(await ext.notes.findById(note.id)).toBeNull()
    })
  })
}

describe('extension configuration', () => {
  const api = () => ({})
  it.each([
    [[{ name: 'core', api }], /name core is taken/],
    [
      [
        { name: 'a', api },
        { name: 'a', api },
      ],
      /name a is taken/,
    ],
    [[{ name: 'Bad Name', api }], /must be lower-case/],
    [[{ name: 'x', api, migrations: { folder: '/nonexistent' } }], /No drizzle-kit journal/],
    [
      [{ name: 'x', api, migrations: { folder: exampleMigrations, table: 'x; DROP TABLE users' } }],
      /must be a lower-case SQL identifier/,
    ],
    [[{ name: 'x' }], /extension from defineExtension/],
  ])('refuses %j with CONFIG', async (extensions, message) => {
    await expect(createDataLayer({ extensions: extensions as never })).rejects.toMatchObject({
      code: 'CONFIG',
      message: expect.stringMatching(message),
    })
  })
})
