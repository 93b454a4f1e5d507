import { sql } from 'drizzle-orm'
import { boolean, index, pgTable, text, timestamp, uuid, varchar } from 'drizzle-orm/pg-core'
import { createInsertSchema, createUpdateSchema } from 'drizzle-zod'
import { chats, users } from 'stratum-data/schema'

/** A user's note, optionally about one chat; gone with its user, kept (unlinked) without its chat. */
export const notes = pgTable(
  'notes',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    chatId: uuid('chat_id').references(() => chats.id, { onDelete: 'set null' }),
    title: varchar('title', { length: 200 }).notNull(),
    body: text('body').notNull().default(''),
    pinned: boolean('pinned').notNull().default(false),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true })
      .notNull()
      .defaultNow()
      .$onUpdate(() => sql`now()`),
  },
  (t) => [
    index('notes_user_created_idx').on(t.userId, t.createdAt),
    index('notes_user_pinned_idx').on(t.userId).where(sql`${t.pinned}`),
  ],
)

/** A stored note. */
export type Note = typeof notes.$inferSelect
/** What creating a note takes. */
export type NewNote = Pick<
  typeof notes.$inferInsert,
  'userId' | 'chatId' | 'title' | 'body' | 'pinned'
>

const refinements = {
  title: (s: import('zod').ZodString) => s.trim().min(1).max(200),
  body: (s: import('zod').ZodString) => s.max(20_000),
}

/** Validates a new note: a title of 1-200 characters, a body of at most 20,000; nothing else. */
export const noteInsertSchema = createInsertSchema(notes, refinements)
  .omit({ id: true, createdAt: true, updatedAt: true })
  .strict()
/** Validates a change to a note. */
export const noteUpdateSchema = createUpdateSchema(notes, refinements)
  .omit({ id: true, userId: true, createdAt: true, updatedAt: true })
  .strict()
