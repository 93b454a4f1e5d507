import { sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { backends, backendTitle, uniqueEmail } from '../helpers/backends.js'

// A database of the release before message parts: migrated through 0002, its messages
// written as plain content. Made by migrating fully and taking 0003 to 0006 back out (their
// columns and records), which leaves exactly the older schema.
for (const backend of backends) {
  describe(`upgrading a database of the previous release to message parts [${backendTitle(backend)}]`, () => {
    it('keeps every message: each old content reads as one text part, nothing rewritten', async () => {
      const old = await backend.openEmpty()
      await old.migrate()
      await old.db.execute(
        sql`DROP TABLE user_memories, embedding_jobs, embedding_queue_switch, chat_summaries, chat_notes, chat_message_attachments, chat_attachments, blob_deletions`,
      )
      await old.db.execute(
        sql`DROP FUNCTION stratum_sync_message_attachments, stratum_delete_unreferenced_attachment,
            stratum_queue_blob_deletion, stratum_forget_stale_summaries, stratum_queue_embedding CASCADE`,
      )
      await old.db.execute(
        sql`ALTER TABLE chat_messages DROP COLUMN parts, DROP COLUMN client_id, DROP COLUMN seq,
            DROP COLUMN parent_id, DROP COLUMN status, DROP COLUMN finish_reason, DROP COLUMN model,
            DROP COLUMN usage, DROP COLUMN updated_at, DROP COLUMN finished_at,
            DROP COLUMN tokens, DROP COLUMN part_tokens, DROP COLUMN token_counter`,
      )
      await old.db.execute(
        sql`ALTER TABLE chats DROP COLUMN last_message_seq, DROP COLUMN active_message_id,
            DROP COLUMN active_stream_id, DROP COLUMN pinned_at, DROP COLUMN archived_at,
            DROP COLUMN deleted_at`,
      )
      await old.db.execute(
        sql`DELETE FROM stratum_migrations WHERE tag IN ('0003_message_parts', '0004_streams_and_branches', '0005_chat_management', '0006_attachments', '0007_token_counts', '0008_summaries_and_notes', '0009_embedding_queue', '0010_user_memories')`,
      )
      const userId = (
        await old.db.execute<{ id: string }>(
          sql`INSERT INTO users (email) VALUES (${uniqueEmail()}) RETURNING id`,
        )
      ).rows[0]!.id
      const chatId = (
        await old.db.execute<{ id: string }>(
          sql`INSERT INTO chats (user_id, title) VALUES (${userId}, 'old') RETURNING id`,
        )
      ).rows[0]!.id
      const contents = ['Hello', 'Hi! How can I help?', 'Zürich ☁️ weather\nplease', '']
      for (const [i, content] of contents.entries()) {
        await old.db.execute(
          sql`INSERT INTO chat_messages (chat_id, role, content, created_at)
              VALUES (${chatId}, ${i % 2 ? 'assistant' : 'user'}, ${content}, now() - ${`${60 - i} seconds`}::interval)`,
        )
      }
      const before = await old.db.execute<{ id: string; content: string }>(
        sql`SELECT id, content FROM chat_messages ORDER BY created_at`,
      )

      const data = await backend.reopen(old)
      const { applied } = await data.migrate()
      expect(applied.map((m) => m.tag)).toEqual([
        '0003_message_parts',
        '0004_streams_and_branches',
        '0005_chat_management',
        '0006_attachments',
        '0007_token_counts',
        '0008_summaries_and_notes',
        '0009_embedding_queue',
        '0010_user_memories',
      ])
      const loaded = await data.messages.loadUIMessages(chatId)
      expect(loaded).toEqual(
        before.rows.map((row, i) => ({
          id: row.id,
          role: i % 2 ? 'assistant' : 'user',
          parts: [{ type: 'text', text: contents[i] }],
        })),
      )
      const after = await data.db.execute<{ id: string; content: string; parts: unknown }>(
        sql`SELECT id, content, parts, seq, parent_id, status FROM chat_messages ORDER BY created_at`,
      )
      expect(after.rows).toEqual(
        before.rows.map((row) => ({
          ...row,
          parts: null,
          seq: null,
          parent_id: null,
          status: 'complete',
        })),
      )
      // And new messages with parts go beside them.
      await data.messages.saveUIMessages(chatId, [
        { id: 'new-1', role: 'user', parts: [{ type: 'text', text: 'after the upgrade' }] },
      ])
      expect((await data.messages.loadUIMessages(chatId)).at(-1)).toEqual({
        id: 'new-1',
        role: 'user',
        parts: [{ type: 'text', text: 'after the upgrade' }],
      })
      // The chat's first append numbered and linked its older messages, in their order,
      // before its own: one branch, ending at the new message.
      const numbered = await data.db.execute<{ id: string; seq: string; parent_id: string | null }>(
        sql`SELECT id, seq::text AS seq, parent_id FROM chat_messages WHERE chat_id = ${chatId} ORDER BY chat_messages.seq`,
      )
      expect(numbered.rows.map((r) => r.seq)).toEqual(['1', '2', '3', '4', '5'])
      expect(numbered.rows.slice(0, 4).map((r) => r.id)).toEqual(before.rows.map((r) => r.id))
      expect(numbered.rows.map((r) => r.parent_id)).toEqual([
        null,
        ...numbered.rows.slice(0, 4).map((r) => r.id),
      ])
    })
  })
}
