import { sql } from 'drizzle-orm'
import {
  bigint,
  check,
  index,
  jsonb,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
  varchar,
} from 'drizzle-orm/pg-core'
import { createInsertSchema, createSelectSchema, createUpdateSchema } from 'drizzle-zod'
import { v7 as uuidv7 } from 'uuid'
import { z } from 'zod'
import { chats } from './chats.js'
import { jsonObjectField, MAX_CONTENT_LENGTH, textField } from './fields.js'
import { MAX_PART_FIELD_LENGTH, type MessagePart, messagePartsSchema } from './message-parts.js'

/** Who wrote a message. */
export const MESSAGE_ROLES = ['system', 'user', 'assistant', 'tool'] as const
/** One of {@link MESSAGE_ROLES}. */
export type MessageRole = (typeof MESSAGE_ROLES)[number]

/**
 * Messages of a chat, oldest first by (created_at, id). Ids are UUIDv7 generated in
 * order, so messages appended in one transaction keep their order.
 */
export const chatMessages = pgTable(
  'chat_messages',
  {
    id: uuid('id')
      .primaryKey()
      .defaultRandom()
      .$defaultFn(() => uuidv7()),
    chatId: uuid('chat_id')
      .notNull()
      .references(() => chats.id, { onDelete: 'cascade' }),
    role: varchar('role', { length: 16 }).$type<MessageRole>().notNull(),
    content: text('content').notNull(),
    /**
     * The message's parts (text, reasoning, tool calls, files, ...); null for a message
     * written as plain `content`, which reads as one text part. `content` is then the plain
     * text of the parts, for search.
     */
    parts: jsonb('parts').$type<MessagePart[]>(),
    /**
     * The message's place in its chat, 1, 2, 3, ... in the order appends committed: no gaps,
     * no duplicates, whatever writes run at once. Null for messages of a release before
     * sequence numbers until the chat's next append numbers them all.
     */
    seq: bigint('seq', { mode: 'number' }),
    /** The id a client or the AI SDK gave the message: unique within its chat. */
    clientId: text('client_id'),
    metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('chat_messages_chat_created_idx').on(t.chatId, t.createdAt, t.id),
    uniqueIndex('chat_messages_chat_client_id_idx').on(t.chatId, t.clientId),
    uniqueIndex('chat_messages_chat_seq_idx').on(t.chatId, t.seq),
    check('chat_messages_role_check', sql`${t.role} in ('system', 'user', 'assistant', 'tool')`),
  ],
)

const refinements = {
  role: () => z.enum(MESSAGE_ROLES),
  content: () => textField(MAX_CONTENT_LENGTH),
  metadata: () => jsonObjectField,
  parts: () => messagePartsSchema.nullable(),
  clientId: () =>
    textField(MAX_PART_FIELD_LENGTH)
      .refine((v) => v.length > 0, 'must not be empty')
      .nullable(),
}

/** Validates a new message. */
export const messageInsertSchema = createInsertSchema(chatMessages, refinements)
  .omit({ createdAt: true, seq: true })
  .strict()
/** Validates a partial update of a message. */
export const messageUpdateSchema = createUpdateSchema(chatMessages, refinements)
  .omit({ id: true, chatId: true, createdAt: true, seq: true })
  .strict()
/** Describes a message row. */
export const messageSelectSchema = createSelectSchema(chatMessages)

/** A message row. */
export type ChatMessage = typeof chatMessages.$inferSelect
/** What `messages.append` accepts. */
export type NewChatMessage = typeof chatMessages.$inferInsert
