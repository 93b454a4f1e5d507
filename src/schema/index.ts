/**
 * The Drizzle schema of stratum-data and the Zod schemas derived from it.
 *
 * @example
 * ```ts
 * import { users, chats } from 'stratum-data/schema'
 * const rows = await data.db.select().from(users).where(eq(users.emailVerified, true))
 * ```
 * @module
 */
export * from './chat-attachments.js'
export * from './chat-messages.js'
export * from './chat-notes.js'
export * from './chat-summaries.js'
export * from './chat-vectors.js'
export * from './chats.js'
export { EMBEDDING_DIMENSIONS_TOKEN, embeddingVector } from './embedding-column.js'
export * from './embedding-jobs.js'
export { MAX_CONTENT_LENGTH, MAX_METADATA_JSON_LENGTH } from './fields.js'
export type { JsonObject, JsonValue } from './json-value.js'
export * from './message-parts.js'
export * from './relations.js'
export * from './ui-messages.js'
export * from './user-memories.js'
export * from './users.js'
