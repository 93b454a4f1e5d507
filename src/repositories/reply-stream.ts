import { and, eq, inArray, sql } from 'drizzle-orm'
import { z } from 'zod'
import { StratumError, ValidationError } from '../errors.js'
import { type ChatMessage, chatMessages, type MessageStatus } from '../schema/chat-messages.js'
import { chats } from '../schema/chats.js'
import { jsonObjectField, textField } from '../schema/fields.js'
import type { JsonObject } from '../schema/json-value.js'
import {
  MAX_PART_FIELD_LENGTH,
  type MessagePart,
  messagePartsText,
} from '../schema/message-parts.js'
import { fromUIMessage } from '../schema/ui-messages.js'
import { chatEntityKey, chatsOfUserKey, messageEntityKey, messagesOfChatKey } from './cache-keys.js'
import { messageEvent } from './chat-events.js'
import type { RepositoryContext } from './repository-context.js'
import { runOperation } from './run-operation.js'
import { tokenColumns } from './token-columns.js'
import { validate } from './validate.js'

/** How a reply's writes are batched. */
export interface ReplyStreamOptions {
  /**
   * Writes of a streaming reply are at most this far apart: updates arriving in between are
   * kept in memory and the newest is written when the time is up. 0 writes every update.
   */
  flushIntervalMs?: number
  /**
   * While no update arrives (a model thinking, a slow tool), the writer still touches the
   * message this often, so that a sweep can tell a silent writer from a dead one. Keep it
   * well under the sweep's `idleMs`.
   */
  heartbeatMs?: number
}

/** Defaults of {@link ReplyStreamOptions}. */
export const REPLY_STREAM_DEFAULTS: Required<ReplyStreamOptions> = {
  flushIntervalMs: 250,
  heartbeatMs: 10_000,
}

/** How a reply ended, as the model reported it (the AI SDK's `onFinish` values). */
export interface ReplyFinish {
  /** The final message; leave it out to keep the last update. */
  message?: ReplySnapshot
  /** Why the model stopped: `stop`, `length`, `tool-calls`, ... */
  finishReason?: string
  /** The provider's model id. */
  model?: string
  /** Token usage as the provider reported it (the AI SDK's `LanguageModelUsage`). */
  usage?: Record<string, unknown>
}

/** The reply so far: the AI SDK's `UIMessage` (as `readUIMessageStream` yields it) or its parts. */
export interface ReplySnapshot {
  id?: string
  /** `assistant` when given (the AI SDK's types allow any role here; another is refused). */
  role?: string
  metadata?: unknown
  parts: readonly unknown[]
}

/** Counts of a reply's writer, for measuring how much batching saves. */
export interface ReplyStreamStats {
  /** Snapshots given to `update`. */
  readonly updates: number
  /** Statements that wrote the message (flushes, heartbeats and the final write). */
  readonly writes: number
}

interface Pending {
  parts: MessagePart[]
  metadata: JsonObject | undefined
}

/**
 * The writer of one streaming assistant reply, from `messages.startReply`. Give it the
 * reply as it grows (`update`); it writes the newest state at most every `flushIntervalMs`,
 * never one statement per token. End it with `finish` (status `complete`) or `abort`
 * (status `aborted`, what had arrived is kept). Every update is validated when it is given:
 * an invalid one is `VALIDATION` at once and is not kept.
 *
 * @example
 * ```ts
 * const reply = await data.messages.startReply(chat.id)
 * for await (const message of readUIMessageStream({ stream: result.toUIMessageStream() }))
 *   reply.update(message)
 * await reply.finish({ finishReason: await result.finishReason })
 * ```
 */
export class ReplyStream {
  /** The message's row id. */
  readonly messageId: string
  /** The message's id as the AI SDK knows it; give it to `generateMessageId`. */
  readonly id: string
  readonly #context: RepositoryContext
  readonly #chatId: string
  readonly #seq: number | null
  readonly #streamId: string | null
  readonly #options: Required<ReplyStreamOptions>
  #pending: Pending | undefined
  /** The parts last written, which the reply's token counts are made from when it ends. */
  #written: Pending | undefined
  #state: 'open' | 'ending' | MessageStatus = 'open'
  #lastWrite = Date.now()
  #timer: ReturnType<typeof setTimeout> | undefined
  #heartbeat: ReturnType<typeof setInterval> | undefined
  #writing: Promise<void> = Promise.resolve()
  #failure: unknown
  #updates = 0
  #writes = 0

  /** @internal */
  constructor(
    context: RepositoryContext,
    row: ChatMessage,
    streamId: string | null,
    options: Required<ReplyStreamOptions>,
  ) {
    this.#context = context
    this.messageId = row.id
    this.id = row.clientId ?? row.id
    this.#chatId = row.chatId
    this.#seq = row.seq
    this.#streamId = streamId
    this.#options = options
    this.#heartbeat = setInterval(() => this.#touch(), options.heartbeatMs)
    unref(this.#heartbeat)
  }

  /** How many updates arrived and how many writes they took. */
  get stats(): ReplyStreamStats {
    return { updates: this.#updates, writes: this.#writes }
  }

  /**
   * The reply as it stands now (the whole message, not a delta). Validated at once; written
   * with the next flush.
   */
  update(message: ReplySnapshot): void {
    this.#assertOpen('update')
    this.#pending = this.#snapshot(message, 'update')
    this.#updates++
    if (this.#options.flushIntervalMs === 0) {
      void this.flush().catch(() => {})
      return
    }
    if (this.#timer === undefined) {
      const wait = Math.max(0, this.#lastWrite + this.#options.flushIntervalMs - Date.now())
      this.#timer = setTimeout(() => {
        this.#timer = undefined
        void this.flush().catch(() => {})
      }, wait)
      unref(this.#timer)
    }
  }

  /** Writes the newest update now, if one is waiting. A failed write is thrown here and by every later call. */
  async flush(): Promise<void> {
    this.#throwFailure()
    this.#writing = this.#writing.then(() => this.#writePending())
    await this.#writing
    this.#throwFailure()
  }

  /** Ends the reply as `complete` with the model's finish reason, model id and usage. */
  async finish(finish: ReplyFinish = {}): Promise<ChatMessage> {
    this.#assertOpen('finish')
    const context = 'chat_messages.finishReply'
    const fields = validateFinish(finish, context)
    if (finish.message !== undefined) this.#pending = this.#snapshot(finish.message, 'finish')
    return this.#end('complete', fields)
  }

  /** Ends the reply as `aborted` (the user stopped it), keeping what had arrived. */
  async abort(message?: ReplySnapshot): Promise<ChatMessage> {
    this.#assertOpen('abort')
    if (message !== undefined) this.#pending = this.#snapshot(message, 'abort')
    return this.#end('aborted', {})
  }

  async #end(status: MessageStatus, fields: FinishFields): Promise<ChatMessage> {
    this.#state = 'ending'
    this.#stopTimers()
    await this.#writing
    this.#throwFailure()
    const pending = this.#pending
    this.#pending = undefined
    try {
      const last = pending ?? this.#written
      const counted = last ? tokenColumns(last, await this.#context.tokens.counter()) : {}
      const row = await runOperation(this.#context, 'chat_messages.finishReply', () =>
        this.#context.transaction(async (tx) => {
          const [row] = await tx.executor
            .update(chatMessages)
            .set({
              ...(pending ? writtenParts(pending) : {}),
              ...counted,
              ...fields,
              status,
              updatedAt: sql`now()`,
              finishedAt: sql`now()`,
            })
            .where(and(eq(chatMessages.id, this.messageId), writable))
            .returning()
          if (!row) throw await this.#gone(tx)
          const owners = await tx.executor
            .update(chats)
            .set({
              updatedAt: sql`now()`,
              activeStreamId: sql`CASE WHEN ${chats.activeStreamId} = ${this.#streamId} THEN NULL ELSE ${chats.activeStreamId} END`,
            })
            .where(eq(chats.id, this.#chatId))
            .returning({ userId: chats.userId })
          await tx.afterCommit([
            ...this.#messageKeys(),
            chatEntityKey(this.#chatId),
            ...owners.map((chat) => chatsOfUserKey(chat.userId)),
          ])
          await tx.publishAfterCommit([messageEvent('message-finished', row)])
          return row
        }),
      )
      this.#writes++
      this.#state = status
      return row
    } catch (error) {
      this.#state = 'open'
      if (pending && this.#pending === undefined) this.#pending = pending
      throw error
    }
  }

  async #writePending(): Promise<void> {
    const pending = this.#pending
    if (!pending || this.#failure !== undefined) return
    this.#pending = undefined
    this.#lastWrite = Date.now()
    try {
      await this.#write(writtenParts(pending))
      this.#written = pending
      await this.#context.publishAfterCommit([
        messageEvent(
          'message-updated',
          {
            id: this.messageId,
            chatId: this.#chatId,
            clientId: this.id === this.messageId ? null : this.id,
            status: 'streaming',
            seq: this.#seq,
          },
          {
            id: this.id,
            role: 'assistant',
            ...(pending.metadata ? { metadata: pending.metadata } : {}),
            parts: pending.parts,
          },
        ),
      ])
    } catch (error) {
      this.#failure = error
      this.#stopTimers()
    }
  }

  /** A heartbeat: moves `updated_at` so the sweep sees the writer alive. */
  #touch(): void {
    if (this.#state !== 'open' || Date.now() - this.#lastWrite < this.#options.heartbeatMs / 2)
      return
    this.#writing = this.#writing.then(async () => {
      this.#lastWrite = Date.now()
      await this.#write({}).catch((error: unknown) => {
        this.#failure ??= error
        this.#stopTimers()
      })
    })
  }

  async #write(set: Partial<typeof chatMessages.$inferInsert>): Promise<void> {
    await runOperation(this.#context, 'chat_messages.updateReply', async (executor) => {
      const rows = await executor
        .update(chatMessages)
        .set({ ...set, status: 'streaming', updatedAt: sql`now()` })
        .where(and(eq(chatMessages.id, this.messageId), writable))
        .returning({ id: chatMessages.id })
      this.#writes++
      if (rows.length === 0) throw await this.#gone(this.#context)
      await this.#context.afterCommit(this.#messageKeys())
    })
  }

  #messageKeys(): string[] {
    return [messageEntityKey(this.messageId), messagesOfChatKey(this.#chatId)]
  }

  /** Why the reply could not be written: deleted, or ended by another writer. */
  async #gone(context: RepositoryContext): Promise<StratumError> {
    const [row] = await context.executor
      .select({ status: chatMessages.status })
      .from(chatMessages)
      .where(eq(chatMessages.id, this.messageId))
    this.#state = row?.status ?? 'aborted'
    this.#stopTimers()
    return row
      ? new StratumError(
          'CONFLICT',
          `reply ${this.messageId} is ${row.status} already; start a new reply to write another`,
          { details: { table: 'chat_messages' } },
        )
      : new StratumError('NOT_FOUND', `reply ${this.messageId} was deleted while it streamed`, {
          details: { table: 'chat_messages' },
        })
  }

  #snapshot(message: ReplySnapshot, operation: string): Pending {
    const context = `chat_messages.${operation}Reply`
    if (typeof message !== 'object' || message === null) {
      throw new ValidationError(context, [
        { path: 'message', message: 'must be a UI message or { parts }' },
      ])
    }
    if (message.id !== undefined && message.id !== this.id) {
      throw new ValidationError(context, [
        {
          path: 'message.id',
          message: `must be the reply's id (${this.id}); give it to the AI SDK's generateMessageId`,
        },
      ])
    }
    if (message.role !== undefined && message.role !== 'assistant') {
      throw new ValidationError(context, [{ path: 'message.role', message: "must be 'assistant'" }])
    }
    const stored = fromUIMessage(
      { ...message, id: this.id, role: 'assistant', parts: message.parts },
      context,
    )
    const metadata = stored.metadata
    if (
      metadata !== undefined &&
      (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))
    ) {
      throw new ValidationError(context, [
        { path: 'message.metadata', message: 'must be a JSON object to be stored' },
      ])
    }
    return { parts: stored.parts, metadata: metadata as JsonObject | undefined }
  }

  #assertOpen(operation: string): void {
    this.#context.assertUsable(`chat_messages.${operation}Reply`)
    this.#throwFailure()
    if (this.#state !== 'open') {
      throw new StratumError(
        'CONFLICT',
        `reply ${this.messageId} is ${this.#state === 'ending' ? 'ending' : this.#state} already; ${operation} needs a reply that is streaming`,
        { details: { table: 'chat_messages' } },
      )
    }
  }

  #throwFailure(): void {
    if (this.#failure !== undefined) {
      this.#stopTimers()
      throw this.#failure
    }
  }

  #stopTimers(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    if (this.#heartbeat !== undefined) clearInterval(this.#heartbeat)
    this.#timer = undefined
    this.#heartbeat = undefined
  }
}

/** A reply's writer may write it while it streams, and after a sweep took it for dead. */
const writable = inArray(chatMessages.status, ['streaming', 'interrupted'])

type FinishFields = Partial<Pick<ChatMessage, 'finishReason' | 'model' | 'usage'>>

function writtenParts(pending: Pending): Partial<typeof chatMessages.$inferInsert> {
  return {
    parts: pending.parts,
    content: messagePartsText(pending.parts),
    ...(pending.metadata ? { metadata: pending.metadata } : {}),
  }
}

const finishSchema = z
  .object({
    message: z.unknown().optional(),
    finishReason: textField(32).optional(),
    model: textField(MAX_PART_FIELD_LENGTH).optional(),
    usage: jsonObjectField.optional(),
  })
  .strict()

function validateFinish(finish: ReplyFinish, context: string): FinishFields {
  const { message: _message, ...fields } = validate(finishSchema, finish, context)
  return fields
}

function unref(timer: unknown): void {
  ;(timer as { unref?: () => void }).unref?.()
}
