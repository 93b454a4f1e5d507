import { sql } from 'drizzle-orm'
import {
  bigint,
  check,
  index,
  integer,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
  varchar,
} from 'drizzle-orm/pg-core'
import { chatMessages } from './chat-messages.js'
import { chatIdOfChat } from './chats.js'
import { uuidV7Id } from './id-column.js'

/**
 * Rolling summaries of chats (`data.context.summarize`). A summary covers the branch from
 * its first message down to `coversMessageId`, so it serves every branch that passes through
 * that message. A row is `pending` while the app's summarize function runs (at most one per
 * chat: the claim that makes concurrent refreshes run once) and `ready` once stored. A
 * trigger deletes the summaries that cover a message whose text is changed in place; deleting
 * a covered message deletes them by cascade.
 */
export const chatSummaries = pgTable(
  'chat_summaries',
  {
    id: uuidV7Id(),
    chatId: chatIdOfChat(),
    /** The newest message the summary covers: it and every message before it on its branch. */
    coversMessageId: uuid('covers_message_id')
      .notNull()
      .references(() => chatMessages.id, { onDelete: 'cascade' }),
    /** That message's `seq`: an edit of a message at or below it deletes the summary. */
    coversSeq: bigint('covers_seq', { mode: 'number' }).notNull(),
    status: varchar('status', { length: 16 }).$type<'pending' | 'ready'>().notNull(),
    /** The summary text; null while pending. */
    content: text('content'),
    tokens: integer('tokens'),
    tokenCounter: varchar('token_counter', { length: 64 }),
    /** How many messages it covers, from the branch's first. */
    messageCount: integer('message_count').notNull(),
    /** Until when a pending claim holds; a later caller takes over a claim past it. */
    claimedUntil: timestamp('claimed_until', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('chat_summaries_covers_idx').on(t.coversMessageId),
    index('chat_summaries_chat_seq_idx').on(t.chatId, t.coversSeq),
    // One refresh of a chat at a time, across every process.
    uniqueIndex('chat_summaries_one_pending_idx').on(t.chatId).where(sql`${t.status} = 'pending'`),
    check('chat_summaries_status_check', sql`${t.status} in ('pending', 'ready')`),
    check(
      'chat_summaries_ready_check',
      sql`${t.status} = 'pending' OR (${t.content} IS NOT NULL AND ${t.tokens} IS NOT NULL)`,
    ),
  ],
)

/** A summary row. */
export type ChatSummary = typeof chatSummaries.$inferSelect
