import { sql } from 'drizzle-orm'
import { bigint, index, pgTable, text, timestamp, uuid, varchar } from 'drizzle-orm/pg-core'
import { createInsertSchema, createSelectSchema, createUpdateSchema } from 'drizzle-zod'
import { textField } from './fields.js'
import { uuidV7Id } from './id-column.js'
import { users } from './users.js'

/** Conversations, each owned by one user; deleting the user deletes them. */
export const chats = pgTable(
  'chats',
  {
    id: uuidV7Id(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    title: varchar('title', { length: 255 }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true })
      .notNull()
      .defaultNow()
      .$onUpdate(() => sql`now()`),
    /**
     * The sequence number of the chat's newest message (0: none yet, or only messages of a
     * release before sequence numbers). Kept by the library under the chat's row lock.
     */
    lastMessageSeq: bigint('last_message_seq', { mode: 'number' }).notNull().default(0),
    /**
     * The last message of the branch the chat shows (its active path runs from there up the
     * parent links); null until the chat's first append. Not a foreign key, to keep the
     * tables acyclic: a path whose message was deleted starts at the chat's newest message.
     */
    activeMessageId: uuid('active_message_id'),
    /** The id of the reply stream in flight, for a client that reconnects; null when none. */
    activeStreamId: text('active_stream_id'),
    /** When the user pinned the chat; null when it is not pinned. */
    pinnedAt: timestamp('pinned_at', { withTimezone: true }),
    /** When the user archived the chat (hidden from the default list, kept whole); null when not. */
    archivedAt: timestamp('archived_at', { withTimezone: true }),
    /**
     * When the user deleted the chat: it is hidden and takes no new message, and
     * `chats.purgeDeleted` removes it for good after the retention time; null when not.
     */
    deletedAt: timestamp('deleted_at', { withTimezone: true }),
  },
  // id closes the index so the newest-first keyset page is one index range scan.
  (t) => [
    index('chats_user_updated_idx').on(
      t.userId,
      t.updatedAt.desc().nullsFirst(),
      t.id.desc().nullsFirst(),
    ),
    // Only deleted chats are in it: the purge reads nothing else.
    index('chats_deleted_idx').on(t.deletedAt).where(sql`${t.deletedAt} IS NOT NULL`),
  ],
)

const refinements = { title: () => textField(255).nullable() }

/**
 * Columns the library keeps (as messages are written, or by `pin`, `archive`, `softDelete`
 * and their reverses, with the database's clock), never set by a caller.
 */
const KEPT_BY_LIBRARY = {
  createdAt: true,
  updatedAt: true,
  lastMessageSeq: true,
  activeMessageId: true,
  activeStreamId: true,
  pinnedAt: true,
  archivedAt: true,
  deletedAt: true,
} as const

/** Validates a new chat. */
export const chatInsertSchema = createInsertSchema(chats, refinements)
  .omit(KEPT_BY_LIBRARY)
  .strict()
/** Validates a partial update of a chat. */
export const chatUpdateSchema = createUpdateSchema(chats, refinements)
  .omit({ id: true, userId: true, ...KEPT_BY_LIBRARY })
  .strict()
/** Describes a chat row. */
export const chatSelectSchema = createSelectSchema(chats)

/** A chat row. */
export type Chat = typeof chats.$inferSelect
/** What `chats.create` accepts. */
export type NewChat = typeof chats.$inferInsert

/** The `chat_id` column of a table whose rows belong to a chat: deleted with it. */
export const chatIdOfChat = () =>
  uuid('chat_id')
    .notNull()
    .references(() => chats.id, { onDelete: 'cascade' })
