import { and, asc, count, eq } from 'drizzle-orm'
import { z } from 'zod'
import { withDatabaseErrors } from '../db/map-database-error.js'
import { StratumError } from '../errors.js'
import type { RepositoryContext } from '../repositories/repository-context.js'
import { validateScoped } from '../repositories/validate.js'
import { type ChatNote, chatNotes } from '../schema/chat-notes.js'
import { textField } from '../schema/fields.js'
import { assertUuid } from '../util/is-uuid.js'
import { ownedChat } from './owned-chat.js'

/** The longest pinned note, in characters. */
export const MAX_NOTE_LENGTH = 10_000
/** The most notes one chat may have pinned. */
export const MAX_NOTES_PER_CHAT = 100

/** What `context.pin` takes. */
export interface PinNoteOptions {
  chatId: string
  /** The chat's owner. Another user's chat is NOT_FOUND. */
  userId: string
  /** The note (1 to 10,000 characters), stored exactly as given. */
  content: string
}

/** Names one chat of one user. */
export interface ChatOfUser {
  chatId: string
  userId: string
}

const pinSchema = z
  .object({
    chatId: z.string(),
    userId: z.string(),
    content: textField(MAX_NOTE_LENGTH).refine((v) => v.trim() !== '', 'must not be blank'),
  })
  .strict()
const chatOfUserSchema = z.object({ chatId: z.string(), userId: z.string() }).strict()
const unpinSchema = chatOfUserSchema.extend({ noteId: z.string() }).strict()

/**
 * Notes pinned to a chat: text `context.build` puts in the system text of every turn of the
 * chat, after the instructions. See {@link PinnedNotes.pin}.
 */
export class PinnedNotes {
  readonly #context: RepositoryContext

  /** @internal */
  constructor(context: RepositoryContext) {
    this.#context = context
  }

  /**
   * Pins a note to a chat (at most 100 per chat, CONFLICT past that), counted by the layer's
   * token counter, and returns it.
   */
  async pin(options: PinNoteOptions): Promise<ChatNote> {
    const operation = 'context.pin'
    const wanted = validateScoped(this.#context, pinSchema, options, operation)
    const context = this.#context
    const counter = await context.tokens.counter()
    const tokens = counter.count(wanted.content)
    return withDatabaseErrors(operation, () =>
      context.transaction(async (tx) => {
        // The chat's row lock orders concurrent pins, so the limit holds.
        await ownedChat(tx, wanted.chatId, wanted.userId, true)
        const [{ n } = { n: 0 }] = await tx.executor
          .select({ n: count() })
          .from(chatNotes)
          .where(eq(chatNotes.chatId, wanted.chatId))
        if (n >= MAX_NOTES_PER_CHAT) {
          throw new StratumError(
            'CONFLICT',
            `chat ${wanted.chatId} has ${MAX_NOTES_PER_CHAT} pinned notes, the most it takes; unpin one first`,
            { details: { table: 'chat_notes' } },
          )
        }
        const [note] = await tx.executor
          .insert(chatNotes)
          .values({
            chatId: wanted.chatId,
            content: wanted.content,
            tokens,
            tokenCounter: counter.name,
          })
          .returning()
        return note!
      }),
    )
  }

  /** Unpins a note of the chat; false when the chat has no such note. */
  async unpin(options: ChatOfUser & { noteId: string }): Promise<boolean> {
    const operation = 'context.unpin'
    const wanted = validateScoped(this.#context, unpinSchema, options, operation)
    assertUuid(wanted.noteId, operation, 'noteId', 'the id of a note')
    const context = this.#context
    return withDatabaseErrors(operation, async () => {
      await ownedChat(context, wanted.chatId, wanted.userId)
      const deleted = await context.executor
        .delete(chatNotes)
        .where(and(eq(chatNotes.id, wanted.noteId), eq(chatNotes.chatId, wanted.chatId)))
        .returning({ id: chatNotes.id })
      return deleted.length > 0
    })
  }

  /** The chat's pinned notes, in the order they were pinned. */
  async notes(options: ChatOfUser): Promise<ChatNote[]> {
    const operation = 'context.notes'
    const wanted = validateScoped(this.#context, chatOfUserSchema, options, operation)
    const context = this.#context
    return withDatabaseErrors(operation, async () => {
      await ownedChat(context, wanted.chatId, wanted.userId)
      return notesOfChat(context, wanted.chatId)
    })
  }
}

/** A chat's notes in pin order. @internal */
export function notesOfChat(context: RepositoryContext, chatId: string): Promise<ChatNote[]> {
  return context.executor
    .select()
    .from(chatNotes)
    .where(eq(chatNotes.chatId, chatId))
    .orderBy(asc(chatNotes.createdAt), asc(chatNotes.id))
}
