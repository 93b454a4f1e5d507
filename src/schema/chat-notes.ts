import { index, integer, pgTable, text, timestamp, varchar } from 'drizzle-orm/pg-core'
import { chatIdOfChat } from './chats.js'
import { uuidV7Id } from './id-column.js'

/**
 * Notes pinned to a chat (`data.context.pin`): text the model sees on every turn of the chat,
 * after the system instructions, in the order they were pinned.
 */
export const chatNotes = pgTable(
  'chat_notes',
  {
    id: uuidV7Id(),
    chatId: chatIdOfChat(),
    content: text('content').notNull(),
    tokens: integer('tokens').notNull(),
    tokenCounter: varchar('token_counter', { length: 64 }).notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('chat_notes_chat_idx').on(t.chatId, t.createdAt, t.id)],
)

/** A pinned note. */
export type ChatNote = typeof chatNotes.$inferSelect
