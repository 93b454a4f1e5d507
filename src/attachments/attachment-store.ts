import { Readable } from 'node:stream'
import { and, asc, eq, inArray, sql } from 'drizzle-orm'
import { v7 as uuidv7 } from 'uuid'
import { z } from 'zod'
import type { Executor, StratumTransaction } from '../db/connection.js'
import type { Logger } from '../db/query-observer.js'
import { StratumError, ValidationError } from '../errors.js'
import { attachmentKey } from '../repositories/attachment-keys.js'
import { drainAfterWrite, drainBlobDeletions } from '../repositories/blob-deletion-queue.js'
import { validate } from '../repositories/validate.js'
import {
  type ChatAttachment,
  chatAttachments,
  chatMessageAttachments,
} from '../schema/chat-attachments.js'
import { chats } from '../schema/chats.js'
import type { ByteRange } from '../storage/blob-driver.js'
import { type BlobBody, type BlobStore, MEDIA_TYPE, toDriverBody } from '../storage/blob-store.js'
import { CONTROL_CHARACTERS } from '../util/control-characters.js'
import { assertUuid, isUuid } from '../util/is-uuid.js'
import type { AttachmentOptions } from './attachment-options.js'
import { type CheckedContent, ContentCheck, mediaTypeEssence } from './content-check.js'

/** A file uploaded to a chat, stored in full. */
export type Attachment = ChatAttachment & { size: number; sha256: string }

/** What `attachments.upload` takes. */
export interface AttachmentUpload {
  /** The chat the file belongs to: it is deleted with the chat, its branch or its user. */
  readonly chatId: string
  /** The bytes: text (as UTF-8), bytes, or a Node or web stream (checked as it arrives). */
  readonly body: BlobBody
  /** The file's media type, which must be allowed (`attachments.mediaTypes`) and true. */
  readonly mediaType: string
  /** The name the user gave the file (kept in the row, never in a blob key). */
  readonly filename?: string
  /** Stops the upload (`ABORTED`); nothing is left behind. */
  readonly signal?: AbortSignal
}

/** A file part of the AI SDK's `UIMessage` that shows an attachment. */
export interface AttachmentFilePart {
  readonly type: 'file'
  readonly mediaType: string
  readonly filename?: string
  /** A URL to show or send the file with: signed on S3, a data: URL on local drivers. */
  readonly url: string
  /** How the library knows the part is an attachment when a client sends it back. */
  readonly providerMetadata: { readonly stratum: { readonly attachmentId: string } }
}

/** Limits a read to one user's attachments. */
export interface AttachmentAccess {
  /** `NOT_FOUND` unless the attachment belongs to this user. */
  readonly userId?: string
}

/** What `attachments.sweep` deleted. */
export interface AttachmentSweepResult {
  /** Uploads that no message showed, older than the orphan age. */
  readonly attachments: number
  /** Blobs deleted from the queue of deleted rows (those attachments' and any left before). */
  readonly blobs: number
  /** Blobs the store could not delete: still queued for the next sweep. */
  readonly failed: number
}

/** What the store is built on. @internal */
export interface AttachmentStoreParts {
  readonly db: Executor
  readonly transaction: <T>(fn: (tx: StratumTransaction) => Promise<T>) => Promise<T>
  readonly blobs: BlobStore
  readonly options: AttachmentOptions
  readonly logger: Logger | undefined
  readonly assertUsable: (operation: string) => void
}

const uploadSchema = z
  .object({
    chatId: z.string().refine(isUuid, 'must be the id of a chat (a UUID)'),
    body: z.custom<BlobBody>((v) => v !== undefined && v !== null, 'is required'),
    mediaType: z.string().max(255).regex(MEDIA_TYPE, 'must be a media type such as image/png'),
    filename: z
      .string()
      .min(1)
      .max(255)
      .refine((v) => v.isWellFormed() && !CONTROL_CHARACTERS.test(v), 'must be printable text')
      .optional(),
    signal: z
      .custom<AbortSignal>((v) => v instanceof AbortSignal, 'must be an AbortSignal')
      .optional(),
  })
  .strict()

const sweepSchema = z.object({ olderThanMs: z.number().int().min(0).optional() }).strict()

/**
 * Files of chats, kept in the layer's blob store under `users/{userId}/chats/{chatId}/`
 * (which `users.erase` sweeps) and shown by messages' file parts. An upload is checked
 * before it is kept (its size, its media type against the allowed ones, its bytes against
 * its media type); a file part that shows it stores its id, and every read makes its URL
 * anew: a signed S3 URL, or a data: URL on the filesystem and memory drivers. Deleting the
 * chat, the last message that shows it (a branch) or its user deletes the blob; an upload no
 * message ever showed is deleted by {@link sweep}.
 *
 * @example
 * ```ts
 * const file = await data.attachments.upload({ chatId, body: bytes, mediaType: 'image/png', filename: 'cat.png' })
 * const part = await data.attachments.filePart(file)
 * await data.messages.saveUIMessages(chatId, [{ id: 'u1', role: 'user', parts: [part, { type: 'text', text: 'What is this?' }] }])
 * ```
 */
export class AttachmentStore {
  readonly #parts: AttachmentStoreParts

  /** @internal */
  constructor(parts: AttachmentStoreParts) {
    this.#parts = parts
  }

  /**
   * Checks and stores a file for a chat. Bytes given whole are checked before anything is
   * written; a stream is checked as it arrives and refused at the first byte that breaks a
   * rule. Refusals are `VALIDATION` on `body` or `mediaType`; a missing chat is `NOT_FOUND`,
   * a deleted one `CONFLICT`. A failed or stopped upload leaves no row and no blob.
   */
  async upload(input: AttachmentUpload): Promise<Attachment> {
    const context = 'attachments.upload'
    this.#parts.assertUsable(context)
    const { chatId, body, mediaType, filename, signal } = validate(uploadSchema, input, context)
    this.#checkAllowed(mediaType, context)
    const check = new ContentCheck(this.#parts.options, mediaType, context)
    const driverBody = toDriverBody(body, context)
    let checked: CheckedContent | undefined
    if (!(driverBody instanceof Readable)) {
      await check.write(driverBody)
      checked = await check.end()
    }
    const { db, blobs } = this.#parts
    const [chat] = await db
      .select({ userId: chats.userId, deletedAt: chats.deletedAt })
      .from(chats)
      .where(eq(chats.id, chatId))
    if (!chat)
      throw new StratumError('NOT_FOUND', `chat ${chatId} does not exist`, {
        details: { table: 'chats' },
      })
    if (chat.deletedAt)
      throw new StratumError('CONFLICT', `chat ${chatId} is deleted; restore it to attach files`, {
        details: { table: 'chats' },
      })
    // The row comes first: a blob never exists without a row that will delete it.
    const id = uuidv7()
    const key = attachmentKey(chat.userId, chatId, id)
    await db.insert(chatAttachments).values({
      id,
      chatId,
      userId: chat.userId,
      key,
      mediaType,
      ...(filename === undefined ? {} : { filename }),
    })
    let refusal: unknown
    try {
      const bodyOut =
        driverBody instanceof Readable
          ? checkedStream(
              driverBody,
              check,
              (result) => {
                checked = result
              },
              (error) => {
                refusal = error
              },
            )
          : driverBody
      await blobs.put(key, bodyOut, { contentType: mediaType, ...(signal ? { signal } : {}) })
    } catch (error) {
      await this.#forget(id)
      throw refusal ?? error
    }
    const [stored] = await db
      .update(chatAttachments)
      .set({ size: checked!.size, sha256: checked!.sha256 })
      .where(eq(chatAttachments.id, id))
      .returning()
    if (!stored) {
      // The chat was deleted during the upload (its delete queued the key, maybe drained
      // before the bytes landed): the blob goes now.
      await blobs.delete(key)
      throw new StratumError('NOT_FOUND', `chat ${chatId} was deleted during the upload`, {
        details: { table: 'chats' },
      })
    }
    return stored as Attachment
  }

  /** An attachment's row; `NOT_FOUND` when there is none (or it is another user's). */
  async get(id: string, access: AttachmentAccess = {}): Promise<Attachment> {
    this.#parts.assertUsable('attachments.get')
    return this.#find(id, access, 'attachments.get')
  }

  /** A chat's attachments, oldest first (uploads in flight included, with `size` null). */
  async listByChat(chatId: string): Promise<ChatAttachment[]> {
    this.#parts.assertUsable('attachments.listByChat')
    assertUuid(chatId, 'attachments.listByChat', 'chatId', 'the id of a chat')
    return this.#parts.db
      .select()
      .from(chatAttachments)
      .where(eq(chatAttachments.chatId, chatId))
      .orderBy(asc(chatAttachments.createdAt), asc(chatAttachments.id))
  }

  /**
   * The attachment and a stream of its bytes (or of a byte `range`), for an application
   * that serves attachments from a route of its own.
   */
  async open(
    id: string,
    options: AttachmentAccess & { range?: ByteRange } = {},
  ): Promise<{ attachment: Attachment; stream: Readable }> {
    this.#parts.assertUsable('attachments.open')
    const attachment = await this.#find(id, options, 'attachments.open')
    const stream = await this.#parts.blobs.getStream(
      attachment.key,
      options.range ? { range: options.range } : {},
    )
    return { attachment, stream }
  }

  /**
   * A URL of the attachment: the `attachments.url` option's when it is set, else a signed
   * GET URL on S3 (valid `attachments.urlExpiresInSeconds`), else a data: URL of its bytes.
   */
  async url(id: string, access: AttachmentAccess = {}): Promise<string> {
    this.#parts.assertUsable('attachments.url')
    return this.#urlOf(await this.#find(id, access, 'attachments.url'))
  }

  /**
   * The file part of a `UIMessage` that shows the attachment (by id, or the attachment
   * `upload` returned), with a fresh URL. The row is read again: the part says what is
   * stored, not what the caller's object says.
   */
  async filePart(attachment: string | Pick<Attachment, 'id'>): Promise<AttachmentFilePart> {
    this.#parts.assertUsable('attachments.filePart')
    const id = typeof attachment === 'string' ? attachment : attachment?.id
    const row = await this.#find(id as string, {}, 'attachments.filePart')
    return {
      type: 'file',
      mediaType: row.mediaType,
      ...(row.filename === null ? {} : { filename: row.filename }),
      url: await this.#urlOf(row),
      providerMetadata: { stratum: { attachmentId: row.id } },
    }
  }

  /**
   * URLs of attachments by id, for messages being read; an id with no stored attachment
   * keeps its `stratum-attachment:` reference.
   * @internal
   */
  async urls(ids: readonly string[]): Promise<Map<string, string>> {
    const unique = [...new Set(ids)].filter(isUuid)
    if (unique.length === 0) return new Map()
    const rows = await this.#parts.db
      .select()
      .from(chatAttachments)
      .where(inArray(chatAttachments.id, unique))
    const urls = new Map<string, string>()
    for (const row of rows) if (row.size !== null) urls.set(row.id, await this.#urlOf(row))
    return urls
  }

  /**
   * Deletes an attachment that no message shows, with its blob; `CONFLICT` when messages
   * show it (delete them, or their branch, and it goes with the last). Returns whether there
   * was one.
   */
  async delete(id: string): Promise<boolean> {
    this.#parts.assertUsable('attachments.delete')
    checkId(id, 'attachments.delete')
    const deleted = await this.#parts.transaction(async (tx) => {
      const [row] = await tx
        .select({ id: chatAttachments.id })
        .from(chatAttachments)
        .where(eq(chatAttachments.id, id))
        .for('update')
      if (!row) return false
      const shownBy = await tx.$count(
        chatMessageAttachments,
        eq(chatMessageAttachments.attachmentId, id),
      )
      if (shownBy > 0)
        throw new StratumError(
          'CONFLICT',
          `attachment ${id} is shown by ${shownBy} message(s); delete them and it goes with the last`,
          { details: { table: 'chat_attachments' } },
        )
      await tx.delete(chatAttachments).where(eq(chatAttachments.id, id))
      return true
    })
    if (deleted) await drainAfterWrite(this.#parts.db, this.#parts.blobs, this.#parts.logger)
    return deleted
  }

  /**
   * Deletes uploads that no message shows and that are older than `olderThanMs` (default
   * the `attachments.orphanAfterMs` option, a day), then every blob still queued for
   * deletion (those, and any a crash left behind). Run it on a schedule, like
   * `messages.sweepInterruptedReplies`.
   */
  async sweep(options: { olderThanMs?: number } = {}): Promise<AttachmentSweepResult> {
    this.#parts.assertUsable('attachments.sweep')
    const { olderThanMs = this.#parts.options.orphanAfterMs } = validate(
      sweepSchema,
      options,
      'attachments.sweep',
    )
    let attachments = 0
    for (;;) {
      // SKIP LOCKED passes over an upload a writer is linking to a message right now.
      const rows = await this.#parts.db.execute<{ id: string }>(sql`
        DELETE FROM ${chatAttachments} WHERE id IN (
          SELECT a.id FROM ${chatAttachments} a
          WHERE a.created_at < now() - make_interval(secs => ${olderThanMs / 1000})
            AND NOT EXISTS (SELECT 1 FROM ${chatMessageAttachments} r WHERE r.attachment_id = a.id)
          LIMIT 1000 FOR UPDATE SKIP LOCKED)
        RETURNING id`)
      attachments += rows.rows.length
      if (rows.rows.length < 1000) break
    }
    const drained = await drainBlobDeletions(this.#parts.db, this.#parts.blobs)
    return { attachments, blobs: drained.deleted.length, failed: drained.failed }
  }

  async #find(id: string, access: AttachmentAccess, context: string): Promise<Attachment> {
    checkId(id, context)
    if (access.userId !== undefined)
      assertUuid(access.userId, context, 'userId', 'the id of a user')
    const [row] = await this.#parts.db
      .select()
      .from(chatAttachments)
      .where(
        and(
          eq(chatAttachments.id, id),
          access.userId === undefined ? undefined : eq(chatAttachments.userId, access.userId),
        ),
      )
    if (!row || row.size === null)
      throw new StratumError(
        'NOT_FOUND',
        row ? `attachment ${id} is still uploading` : `attachment ${id} does not exist`,
        { details: { table: 'chat_attachments' } },
      )
    return row as Attachment
  }

  async #urlOf(row: ChatAttachment): Promise<string> {
    const { options, blobs } = this.#parts
    if (options.url) return options.url(row)
    if (blobs.kind === 'fs' || blobs.kind === 'memory') {
      const bytes = await blobs.get(row.key)
      return `data:${row.mediaType};base64,${bytes.toString('base64')}`
    }
    return blobs.signedUrl(row.key, { expiresIn: options.urlExpiresInSeconds })
  }

  #checkAllowed(mediaType: string, context: string): void {
    const essence = mediaTypeEssence(mediaType)
    const [type] = essence.split('/')
    const allowed = this.#parts.options.mediaTypes.some(
      (range) => range === '*/*' || range === essence || range === `${type}/*`,
    )
    if (!allowed)
      throw new ValidationError(context, [
        {
          path: 'mediaType',
          message: `${essence} is not an allowed attachment type (allowed: ${this.#parts.options.mediaTypes.join(', ')}); the attachments.mediaTypes option sets them`,
        },
      ])
  }

  async #forget(id: string): Promise<void> {
    try {
      await this.#parts.db.delete(chatAttachments).where(eq(chatAttachments.id, id))
    } finally {
      await drainAfterWrite(this.#parts.db, this.#parts.blobs, this.#parts.logger)
    }
  }
}

function checkId(id: unknown, context: string): asserts id is string {
  assertUuid(id, context, 'id', 'the id of an attachment')
}

/** `body` passed through `check`: the stream fails at the first chunk that breaks a rule. */
function checkedStream(
  source: Readable,
  check: ContentCheck,
  done: (result: CheckedContent) => void,
  failed: (error: unknown) => void,
): Readable {
  async function* checked(): AsyncGenerator<Uint8Array> {
    try {
      for await (const chunk of source) {
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : (chunk as Uint8Array)
        await check.write(bytes)
        yield bytes
      }
      done(await check.end())
    } catch (error) {
      // Our refusal, not a stop from outside (an abort, a closed source) that the put reports.
      if (error instanceof ValidationError) failed(error)
      throw error
    }
  }
  return Readable.from(checked(), { objectMode: false })
}
