import {
  bigint,
  index,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uuid,
  varchar,
} from 'drizzle-orm/pg-core'
import { chatMessages } from './chat-messages.js'
import { chatIdOfChat } from './chats.js'
import { uuidV7Id } from './id-column.js'

/**
 * Files uploaded to a chat (`data.attachments.upload`): the row says where the bytes are in
 * the blob store and what they are. A row exists before its blob is written and is deleted
 * before its blob is: deleting it (directly, or by cascade from its chat or user) queues its
 * key in {@link blobDeletions} in the same transaction, so no blob outlives its row.
 */
export const chatAttachments = pgTable(
  'chat_attachments',
  {
    id: uuidV7Id(),
    chatId: chatIdOfChat(),
    /** The chat's owner, for tenant checks without a join. */
    userId: uuid('user_id').notNull(),
    /** The blob's key in the layer's blob store (without the store's prefix). */
    key: text('key').notNull().unique(),
    mediaType: varchar('media_type', { length: 255 }).notNull(),
    filename: text('filename'),
    /** Bytes stored; null while the upload is in flight. */
    size: bigint('size', { mode: 'number' }),
    /** SHA-256 of the bytes, hex; null while the upload is in flight. */
    sha256: varchar('sha256', { length: 64 }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('chat_attachments_chat_idx').on(t.chatId),
    index('chat_attachments_created_idx').on(t.createdAt),
  ],
)

/**
 * Which messages show which attachments. Kept by a trigger on `chat_messages` from the
 * messages' file parts, whatever wrote them; when an attachment's last message goes, a
 * trigger deletes the attachment.
 */
export const chatMessageAttachments = pgTable(
  'chat_message_attachments',
  {
    messageId: uuid('message_id')
      .notNull()
      .references(() => chatMessages.id, { onDelete: 'cascade' }),
    attachmentId: uuid('attachment_id')
      .notNull()
      .references(() => chatAttachments.id, { onDelete: 'cascade' }),
  },
  (t) => [
    primaryKey({ columns: [t.messageId, t.attachmentId] }),
    index('chat_message_attachments_attachment_idx').on(t.attachmentId),
  ],
)

/**
 * Blob keys whose rows are gone and whose bytes are still to be deleted: filled by
 * triggers in the transaction that deleted the rows, emptied after it commits (and by
 * `data.attachments.sweep()` after a crash). A package's own tables may queue keys here too.
 */
export const blobDeletions = pgTable('blob_deletions', {
  key: text('key').primaryKey(),
  queuedAt: timestamp('queued_at', { withTimezone: true }).notNull().defaultNow(),
})

/** An attachment row. */
export type ChatAttachment = typeof chatAttachments.$inferSelect
