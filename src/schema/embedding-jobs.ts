import { sql } from 'drizzle-orm'
import { boolean, check, index, integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core'
import { chatMessages } from './chat-messages.js'

/**
 * The durable queue of embedding on write (`embedOnWrite`): one row per message whose text
 * must be (re-)embedded, written by a trigger on `chat_messages` in the same transaction as
 * the message, so no finished message is lost whatever wrote it and whenever a process
 * stops. A worker claims due rows (`locked_until`), embeds, and in one transaction replaces
 * the message's vectors and deletes the row, only if `generation` has not moved (an edit
 * while it embedded bumps it, and the row runs again). Deleting a message deletes its row.
 */
export const embeddingJobs = pgTable(
  'embedding_jobs',
  {
    messageId: uuid('message_id')
      .primaryKey()
      .references(() => chatMessages.id, { onDelete: 'cascade' }),
    /** Bumped by every change of the message's text while the row waits or runs. */
    generation: integer('generation').notNull().default(1),
    /** Claims so far; reset by a new generation. */
    attempts: integer('attempts').notNull().default(0),
    /** Not claimed before this: now, or later after a failure (backoff). */
    runAfter: timestamp('run_after', { withTimezone: true }).notNull().defaultNow(),
    /** Claimed by a worker until then; a crashed worker's claim runs out. */
    lockedUntil: timestamp('locked_until', { withTimezone: true }),
    /** The last failure: the error's class and a clipped, redacted message. */
    lastError: text('last_error'),
    /** Set after the last allowed attempt failed: the row waits for `retryFailed()`. */
    failedAt: timestamp('failed_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('embedding_jobs_due_idx').on(t.runAfter).where(sql`${t.failedAt} IS NULL`)],
)

/**
 * One row, present once a data layer with `embedOnWrite` has opened on the database: the
 * trigger queues messages only then, so a database that never embeds keeps no queue.
 */
export const embeddingQueueSwitch = pgTable(
  'embedding_queue_switch',
  {
    on: boolean('on').primaryKey().default(true),
    since: timestamp('since', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [check('embedding_queue_switch_one_row', sql`${t.on}`)],
)

/** A queued message. */
export type EmbeddingJob = typeof embeddingJobs.$inferSelect
