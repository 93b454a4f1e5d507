import { sql } from 'drizzle-orm'
import {
  type AnyPgColumn,
  bigint,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
  varchar,
} from 'drizzle-orm/pg-core'
import { createInsertSchema, createSelectSchema, createUpdateSchema } from 'drizzle-zod'
import { z } from 'zod'
import { chatIdOfChat } from './chats.js'
import { jsonObjectField, MAX_CONTENT_LENGTH, textField } from './fields.js'
import { uuidV7Id } from './id-column.js'
import { MAX_PART_FIELD_LENGTH, type MessagePart, messagePartsSchema } from './message-parts.js'

/**
 * Where a message is in its life: `streaming` while a reply arrives, `complete` when it
 * finished (every message not streamed is), `aborted` when it was stopped (what had arrived
 * is kept), `interrupted` when its writer went silent (a sweep found it, see
 * `messages.sweepInterruptedReplies`).
 */
export const MESSAGE_STATUSES = ['streaming', 'complete', 'aborted', 'interrupted'] as const
/** One of {@link MESSAGE_STATUSES}. */
export type MessageStatus = (typeof MESSAGE_STATUSES)[number]

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
    id: uuidV7Id(),
    chatId: chatIdOfChat(),
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
    /**
     * The message this one follows in its branch (null for a chat's first message, and for
     * messages of a release before branches until their chat's next append links them).
     * Two messages with one parent are siblings: an edit or a regenerated answer.
     */
    parentId: uuid('parent_id').references((): AnyPgColumn => chatMessages.id, {
      onDelete: 'cascade',
    }),
    status: varchar('status', { length: 16 }).$type<MessageStatus>().notNull().default('complete'),
    /** Why the model stopped (the AI SDK's `finishReason`: `stop`, `length`, `tool-calls`, ...). */
    finishReason: varchar('finish_reason', { length: 32 }),
    /** The model that wrote the message, as the provider names it. */
    model: text('model'),
    /** Token usage the provider reported (the AI SDK's `LanguageModelUsage`), as given. */
    usage: jsonb('usage').$type<Record<string, unknown>>(),
    /**
     * The message's tokens as `tokenCounter` counted them when it was written: the sum of
     * `partTokens`. Null while a reply streams, and for messages stored before counts were
     * kept; the context builder counts those itself.
     */
    tokens: integer('tokens'),
    /** Tokens per part, in the order of `parts` (a message without parts: one, its content). */
    partTokens: integer('part_tokens').array(),
    /** The name of the counter that made the counts (the layer's `tokens.counter`). */
    tokenCounter: varchar('token_counter', { length: 64 }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    /** Last write to the message: a streamed reply's writer moves it with every flush. */
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    /** When a reply stopped streaming (complete, aborted or interrupted). */
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (t) => [
    index('chat_messages_chat_created_idx').on(t.chatId, t.createdAt, t.id),
    uniqueIndex('chat_messages_chat_client_id_idx').on(t.chatId, t.clientId),
    uniqueIndex('chat_messages_chat_seq_idx').on(t.chatId, t.seq),
    index('chat_messages_parent_idx').on(t.parentId),
    // Only streaming replies are in it: the sweep for silent writers reads nothing else.
    index('chat_messages_streaming_idx').on(t.updatedAt).where(sql`${t.status} = 'streaming'`),
    check('chat_messages_role_check', sql`${t.role} in ('system', 'user', 'assistant', 'tool')`),
    check(
      'chat_messages_status_check',
      sql`${t.status} in ('streaming', 'complete', 'aborted', 'interrupted')`,
    ),
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
  finishReason: () => textField(32).nullable(),
  model: () => textField(MAX_PART_FIELD_LENGTH).nullable(),
  usage: () => jsonObjectField.nullable(),
}

/** Columns the library keeps: set by appends, streams and sweeps, never by a caller. */
const KEPT_BY_LIBRARY = {
  createdAt: true,
  updatedAt: true,
  finishedAt: true,
  seq: true,
  status: true,
  tokens: true,
  partTokens: true,
  tokenCounter: true,
} as const

/** Validates a new message. */
export const messageInsertSchema = createInsertSchema(chatMessages, refinements)
  .omit(KEPT_BY_LIBRARY)
  .strict()
/** Validates a partial update of a message. */
export const messageUpdateSchema = createUpdateSchema(chatMessages, refinements)
  .omit({ id: true, chatId: true, parentId: true, ...KEPT_BY_LIBRARY })
  .strict()
/** Describes a message row. */
export const messageSelectSchema = createSelectSchema(chatMessages)

/** A message row. */
export type ChatMessage = typeof chatMessages.$inferSelect
/** What `messages.append` accepts. */
export type NewChatMessage = typeof chatMessages.$inferInsert
