import { sql } from 'drizzle-orm'
import {
  type AnyPgColumn,
  index,
  jsonb,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
  varchar,
} from 'drizzle-orm/pg-core'
import { chatMessages } from './chat-messages.js'
import { embeddingVector } from './embedding-column.js'
import { uuidV7Id } from './id-column.js'
import { users } from './users.js'

/**
 * Long-term memory (`data.memory`): facts and preferences of a user, across chats. A fact
 * is valid from `validFrom` until `invalidAt`; remembering a new fact under the same `key`
 * sets the old one's `invalidAt` and `supersededBy` instead of deleting it, so its history
 * stays. At most one current fact per key and user. Deleted with the user.
 */
export const userMemories = pgTable(
  'user_memories',
  {
    id: uuidV7Id(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    /** What the fact is about (`home_city`, `diet`): a newer fact under it supersedes. */
    key: varchar('key', { length: 200 }),
    content: text('content').notNull(),
    /** Its embedding, when given (or made by `embedOnWrite.embed`): search by meaning. */
    embedding: embeddingVector('embedding'),
    metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull().default({}),
    validFrom: timestamp('valid_from', { withTimezone: true }).notNull().defaultNow(),
    invalidAt: timestamp('invalid_at', { withTimezone: true }),
    supersededBy: uuid('superseded_by').references((): AnyPgColumn => userMemories.id, {
      onDelete: 'set null',
    }),
    /** The message it was learnt from, if any. */
    sourceMessageId: uuid('source_message_id').references(() => chatMessages.id, {
      onDelete: 'set null',
    }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('user_memories_user_idx').on(t.userId, t.validFrom),
    uniqueIndex('user_memories_current_key_idx')
      .on(t.userId, t.key)
      .where(sql`${t.invalidAt} IS NULL AND ${t.key} IS NOT NULL`),
  ],
)

/** A remembered fact. */
export type UserMemory = typeof userMemories.$inferSelect
