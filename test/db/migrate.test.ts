import { sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { resolveOptions } from '../../src/config/options.js'
import { migrationSetsOf } from '../../src/data-layer/migration-sets.js'
import { applyMigrations } from '../../src/db/migrator.js'
import { openPGlite } from '../../src/db/pglite-connection.js'
import { backends, backendTitle } from '../helpers/backends.js'
import { failure } from '../helpers/failure.js'

for (const backend of backends) {
  describe(`migrations [${backendTitle(backend)}]`, () => {
    it('lists pending migrations, applies them once, then nothing', async () => {
      const data = await backend.openEmpty()
      const before = await data.migrationStatus()
      expect(before.applied).toEqual([])
      expect(before.pending.map((m) => m.tag)).toEqual([
        '0000_enable_pgvector',
        '0001_core_schema',
        '0002_full_text',
        '0003_message_parts',
        '0004_streams_and_branches',
        '0005_chat_management',
        '0006_attachments',
        '0007_token_counts',
        '0008_summaries_and_notes',
        '0009_embedding_queue',
        '0010_user_memories',
      ])

      const first = await data.migrate()
      expect(first.applied.map((m) => m.tag)).toEqual([
        '0000_enable_pgvector',
        '0001_core_schema',
        '0002_full_text',
        '0003_message_parts',
        '0004_streams_and_branches',
        '0005_chat_management',
        '0006_attachments',
        '0007_token_counts',
        '0008_summaries_and_notes',
        '0009_embedding_queue',
        '0010_user_memories',
      ])
      const again = await data.migrate()
      expect(again.applied).toEqual([])

      const after = await data.migrationStatus()
      expect(after.pending).toEqual([])
      expect(after.applied.every((m) => m.appliedAt instanceof Date)).toBe(true)
      const ext = await data.db.execute(
        sql`select extname from pg_extension where extname = 'vector'`,
      )
      expect(ext.rows).toHaveLength(1)
    })

    it('applies each migration exactly once when four migrate() calls race', async () => {
      const data = await backend.openEmpty()
      const others = await Promise.all([1, 2, 3].map(() => backend.reopen(data)))
      const results = await Promise.all([data, ...others].map((d) => d.migrate()))
      const applied = results.flatMap((r) => r.applied.map((m) => m.tag)).sort()
      expect(applied).toEqual([
        '0000_enable_pgvector',
        '0001_core_schema',
        '0002_full_text',
        '0003_message_parts',
        '0004_streams_and_branches',
        '0005_chat_management',
        '0006_attachments',
        '0007_token_counts',
        '0008_summaries_and_notes',
        '0009_embedding_queue',
        '0010_user_memories',
      ])
      const rows = await data.db.execute(
        sql`select tag, count(*)::int as n from stratum_migrations group by tag`,
      )
      expect(rows.rows).toEqual(
        expect.arrayContaining([
          { tag: '0000_enable_pgvector', n: 1 },
          { tag: '0001_core_schema', n: 1 },
          { tag: '0002_full_text', n: 1 },
          { tag: '0003_message_parts', n: 1 },
          { tag: '0004_streams_and_branches', n: 1 },
          { tag: '0005_chat_management', n: 1 },
          { tag: '0006_attachments', n: 1 },
          { tag: '0007_token_counts', n: 1 },
          { tag: '0008_summaries_and_notes', n: 1 },
          { tag: '0009_embedding_queue', n: 1 },
          { tag: '0010_user_memories', n: 1 },
        ]),
      )
      expect(rows.rows).toHaveLength(11)
    })
  })
}

describe('configuration-dependent DDL (rewrites)', () => {
  it('refuses a rewrite that matches no shipped statement, applying nothing', async () => {
    const connection = await openPGlite({})
    try {
      const [core] = migrationSetsOf(resolveOptions({ embeddings: { partitions: 4 } }))
      const broken = {
        ...core!,
        rewrites: [...core!.rewrites!, { from: 'CREATE TABLE "no_such_table" (', to: 'x' }],
      }
      const error = await failure(() => applyMigrations(connection, [broken]))
      expect(error.code).toBe('CONFIG')
      expect(error.message).toContain('no_such_table')
      const rows = await connection.query<{ present: boolean }>(
        `select to_regclass('stratum_migrations') is not null as present`,
      )
      expect(rows[0]!.present).toBe(false)
      // The real partition rewrites all match: the same set applies.
      await applyMigrations(connection, [core!])
      const parts = await connection.query<{ n: number }>(
        `select count(*)::int as n from pg_inherits where inhparent = 'chat_vectors'::regclass`,
      )
      expect(parts[0]!.n).toBe(4)
    } finally {
      await connection.close()
    }
  })
})
