import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'drizzle-orm'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createDataLayer, type DataLayer, type DataLayerOptions } from '../../src/index.js'
import { backends, backendTitle, databaseUrlOf } from '../helpers/backends.js'

/** A drizzle-kit style folder with these migrations (tag -> SQL). */
async function migrationsFolder(parent: string, name: string, migrations: Record<string, string>) {
  const folder = join(parent, name)
  await mkdir(join(folder, 'meta'), { recursive: true })
  const entries = Object.keys(migrations).map((tag, idx) => ({
    idx,
    version: '7',
    when: 1_700_000_000_000 + idx,
    tag,
    breakpoints: true,
  }))
  await writeFile(
    join(folder, 'meta', '_journal.json'),
    JSON.stringify({ version: '7', dialect: 'postgresql', entries }),
  )
  for (const [tag, text] of Object.entries(migrations))
    await writeFile(join(folder, `${tag}.sql`), text)
  return folder
}

const NOTES = 'CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL);'
const BROKEN =
  'ALTER TABLE notes ADD COLUMN pinned boolean;\n--> statement-breakpoint\nINSERT INTO no_such_table VALUES (1);'

async function hasTable(data: DataLayer, name: string): Promise<boolean> {
  const [row] = (await data.db.execute(sql`SELECT to_regclass(${name}) IS NOT NULL AS present`))
    .rows as { present: boolean }[]
  return row!.present
}

for (const backend of backends) {
  describe(`migrate --verify [${backendTitle(backend)}]`, () => {
    let work: string
    let broken: string
    let good: string
    beforeAll(async () => {
      work = await mkdtemp(join(tmpdir(), 'stratum-verify-test-'))
      broken = await migrationsFolder(work, 'broken', {
        '0000_notes': NOTES,
        '0001_broken': BROKEN,
      })
      good = await migrationsFolder(work, 'good', { '0000_notes': NOTES })
    })
    afterAll(async () => {
      await rm(work, { recursive: true, force: true })
    })

    it('stops before touching the real database when a migration fails on the copy, then applies a good one', async () => {
      const common: DataLayerOptions = {
        embeddings: { dimensions: 384 },
        blobs: { dir: join(work, 'blobs') },
      }
      let first: DataLayer
      let reopen: (options: DataLayerOptions) => Promise<DataLayer>
      if (backend.name === 'postgres') {
        const base = await backend.open({ ...common })
        const url = databaseUrlOf(base)
        reopen = (options) => createDataLayer({ ...common, ...options, databaseUrl: url })
        first = await reopen({ migrations: { sets: [{ name: 'notes', folder: broken }] } })
      } else {
        const dir = join(work, 'pglite')
        reopen = (options) => createDataLayer({ ...common, ...options, database: { dir } })
        const seed = await reopen({})
        await seed.migrate()
        await seed.close()
        first = await reopen({ migrations: { sets: [{ name: 'notes', folder: broken }] } })
      }

      const steps: string[] = []
      const error = await first
        .migrate({ verify: true, onStep: (s) => steps.push(s.step) })
        .catch((e: unknown) => e)
      expect(error).toMatchObject({
        code: 'DATABASE',
        message: expect.stringContaining('real database was not touched'),
      })
      expect((error as Error).message).toContain('no_such_table')
      expect(steps).toEqual(['backup', 'copy'])
      expect(await hasTable(first, 'notes')).toBe(false)
      expect((await first.migrationStatus()).pending.map((m) => `${m.set}/${m.tag}`)).toEqual([
        'notes/0000_notes',
        'notes/0001_broken',
      ])
      expect(await first.backups()).toHaveLength(1)
      if (backend.name === 'postgres') {
        const admin = new pg.Client({ connectionString: inject('postgresUrl') })
        await admin.connect()
        const { rows } = await admin.query(
          `SELECT datname FROM pg_database WHERE datname LIKE 'stratum_verify_%'`,
        )
        await admin.end()
        expect(rows).toEqual([]) // the copy was dropped
      }
      await first.close()

      const second = await reopen({ migrations: { sets: [{ name: 'notes', folder: good }] } })
      const result = await second.migrate({ verify: true })
      expect(result.applied).toEqual([{ set: 'notes', tag: '0000_notes' }])
      expect(result.steps?.map((s) => s.step)).toEqual(['backup', 'copy', 'verify', 'apply'])
      expect(await hasTable(second, 'notes')).toBe(true)
      expect((await second.migrate({ verify: true })).applied).toEqual([]) // nothing pending: no backup either
      expect(await second.backups()).toHaveLength(2)
      await second.close()
    })
  })
}
