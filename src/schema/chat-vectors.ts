import { sql } from 'drizzle-orm'
import { index, integer, jsonb, pgTable, text, timestamp, unique, uuid } from 'drizzle-orm/pg-core'
import { createInsertSchema, createSelectSchema } from 'drizzle-zod'
import { z } from 'zod'
import { chatMessages } from './chat-messages.js'
import { chats } from './chats.js'
import { embeddingVector, FULL_TEXT_LANGUAGE_TOKEN, tsvector } from './embedding-column.js'
import { embeddingField, jsonObjectField, MAX_CONTENT_LENGTH, textField } from './fields.js'
import { uuidV7Id } from './id-column.js'
import { users } from './users.js'

/**
 * Embedded chunks of text, the one place embeddings live. A chunk usually belongs to a
 * message (`message_id`, `chunk_index`); `message_id` and `chat_id` may be null for
 * documents that are not messages. Searches are always scoped by `user_id`.
 */
export const chatVectors = pgTable(
  'chat_vectors',
  {
    id: uuidV7Id(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    chatId: uuid('chat_id').references(() => chats.id, { onDelete: 'cascade' }),
    messageId: uuid('message_id').references(() => chatMessages.id, { onDelete: 'cascade' }),
    chunkIndex: integer('chunk_index').notNull().default(0),
    content: text('content').notNull(),
    embedding: embeddingVector('embedding').notNull(),
    metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull().default({}),
    /** The content's lexemes for hybrid search, kept by Postgres. */
    contentTsv: tsvector('content_tsv').generatedAlwaysAs(
      sql.raw(`to_tsvector('${FULL_TEXT_LANGUAGE_TOKEN}'::regconfig, content)`),
    ),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true })
      .notNull()
      .defaultNow()
      .$onUpdate(() => sql`now()`),
  },
  (t) => [
    unique('chat_vectors_message_chunk_key').on(t.messageId, t.chunkIndex),
    index('chat_vectors_user_idx').on(t.userId),
    index('chat_vectors_chat_idx').on(t.chatId),
    index('chat_vectors_embedding_cosine_idx').using('hnsw', t.embedding.op('vector_cosine_ops')),
    index('chat_vectors_content_tsv_idx').using('gin', t.contentTsv),
  ],
)

/** Validates a new vector chunk whose embedding has `dimensions` numbers. */
export const vectorInsertSchema = (dimensions: number) =>
  createInsertSchema(chatVectors, {
    chunkIndex: () => z.number().int().min(0).max(1_000_000),
    content: () => textField(MAX_CONTENT_LENGTH),
    embedding: () => embeddingField(dimensions),
    metadata: () => jsonObjectField,
  })
    .omit({ createdAt: true, updatedAt: true })
    .strict()

/** Describes a vector row. */
export const vectorSelectSchema = createSelectSchema(chatVectors)

/** A vector row. */
export type ChatVector = typeof chatVectors.$inferSelect
/** What `vectors.upsert` accepts per item. */
export type NewChatVector = typeof chatVectors.$inferInsert
