import { and, eq, inArray, isNull, sql } from 'drizzle-orm'
import { mapDatabaseError } from '../db/map-database-error.js'
import { StratumError, ValidationError } from '../errors.js'
import { activeLeafOfChatRow, resolveMessageId } from '../repositories/message-tree.js'
import type { RepositoryContext } from '../repositories/repository-context.js'
import { notFoundChat } from '../repositories/store-messages.js'
import { uiMessageOf } from '../repositories/ui-message-of.js'
import { validate } from '../repositories/validate.js'
import type { ChatMessage } from '../schema/chat-messages.js'
import { chats } from '../schema/chats.js'
import { toUIMessage } from '../schema/ui-messages.js'
import { countMessageTokens } from '../tokens/message-tokens.js'
import { checkedCounter } from '../tokens/token-counter.js'
import { assertUuid } from '../util/is-uuid.js'
import type { HybridSearchHit, HybridSearchOptions } from '../vector/vector-types.js'
import { type BuildContextOptions, buildContextSchema } from './context-options.js'
import { walkBranch } from './path-walk.js'

/** Why a message of the branch is not in the context. */
export type ContextExclusionReason =
  /** It did not fit in what the budget had left (and so neither did anything older). */
  | 'over-budget'
  /** A reply still streaming: not finished, so not sent. */
  | 'streaming'
  /** The window must begin with a user message: an answer whose question did not fit. */
  | 'turn-start'
  /** A message with the role `tool` (stored by `append`), which UI messages do not have. */
  | 'tool-role'

/** A message as the AI SDK's `UIMessage` (what `messages.loadUIMessages` returns). */
export type ContextUIMessage = ReturnType<typeof toUIMessage>

/** A message of the chat in the context. */
export interface ContextMessage {
  readonly id: string
  readonly seq: number | null
  readonly role: string
  /** What it costs: its counts, the per-message overhead and its files. */
  readonly tokens: number
}

/** A message of the branch left out, and why. */
export interface ContextExclusion extends ContextMessage {
  readonly reason: ContextExclusionReason
}

/** An older message or chunk found relevant, and put into the system text. */
export interface ContextRelevant {
  readonly chunkId: string
  readonly chatId: string | null
  readonly messageId: string | null
  readonly content: string
}

/**
 * What `context.build` returns. `M` is the type its messages are given as: pass the AI SDK's
 * `UIMessage` (`build<UIMessage>(...)`) to hand them to `convertToModelMessages` as they are.
 */
export interface BuiltContext<M = ContextUIMessage> {
  /**
   * The system text: the instructions, then the relevant older messages. Give it to the
   * model as `system`; undefined when there is neither.
   */
  readonly system: string | undefined
  /**
   * The chat's messages that fit, oldest first, as UI messages: give them to the AI SDK's
   * `convertToModelMessages` (with your tools) for `messages`. A tool call and its result are
   * one part, so they are in or out together; so are a message's files and its text.
   */
  readonly messages: M[]
  /** The messages in `messages`, oldest first, with their costs. */
  readonly included: readonly ContextMessage[]
  /** The relevant older messages and chunks in `system`, most relevant first. */
  readonly relevant: readonly ContextRelevant[]
  /** Messages of the branch that were read and left out, newest first. */
  readonly excluded: readonly ContextExclusion[]
  /**
   * The newest message of the branch that was not read: it and everything before it did not
   * fit. Null when the branch was read to its first message.
   */
  readonly unreadFrom: string | null
  readonly tokens: {
    readonly budget: number
    /** All of it: `system` plus `messages`, as counted; never more than the budget. */
    readonly used: number
    /** The system text (instructions and relevant messages) with its overhead. */
    readonly system: number
    /** The part of `system` the relevant messages took. */
    readonly relevant: number
    readonly messages: number
  }
  /** The counter that counted (`TokenCounter.name`). */
  readonly counter: string
}

/** What the builder works with. */
export interface ContextBuilderParts {
  readonly context: RepositoryContext
  readonly hybridSearch: (options: HybridSearchOptions) => Promise<HybridSearchHit[]>
}

const RELEVANT_HEADER = 'Relevant earlier messages:'

/**
 * Builds what a model sees on a chat's next turn within a token budget. See
 * {@link ContextBuilder.build}.
 *
 * @example
 * ```ts
 * const context = await data.context.build({ chatId, userId, budget: 8000, system: 'Be brief.' })
 * const result = streamText({ model, system: context.system, messages: await convertToModelMessages(context.messages) })
 * ```
 */
export class ContextBuilder {
  readonly #parts: ContextBuilderParts

  /** @internal */
  constructor(parts: ContextBuilderParts) {
    this.#parts = parts
  }

  /**
   * The context for the chat's next model call, within `budget` tokens, in this priority:
   *
   * 1. the system instructions (`system`);
   * 2. the current turn: the latest user message and anything after it (a tool loop's
   *    steps), whole;
   * 3. older messages and chunks relevant to the new message (`relevant`: hybrid search over
   *    this user's stored vectors, up to `share` of the budget), as lines of the system text,
   *    leaving out those already in the window;
   * 4. the most recent messages before the turn that fit, whole, back to the first that does
   *    not; the window then begins at a user message.
   *
   * Every message is whole: a tool call and its result, a message and its files, are in or
   * out together. Counts are the stored ones when they were made by the same counter, else
   * counted now. The same data and options give the same result. A budget too small for the
   * instructions and the current turn is `VALIDATION`, naming what they cost.
   */
  async build<M = ContextUIMessage>(options: BuildContextOptions): Promise<BuiltContext<M>> {
    const operation = 'context.build'
    const { context } = this.#parts
    context.assertUsable(operation)
    const wanted = validate(buildContextSchema, options, operation)
    assertUuid(wanted.chatId, operation, 'chatId', 'the id of a chat')
    assertUuid(wanted.userId, operation, 'userId', 'the id of a user')
    const counter = wanted.counter ? checkedCounter(wanted.counter) : await context.tokens.counter()
    const overhead = wanted.messageOverheadTokens

    const { rows, unreadFrom } = await this.#read(operation, () =>
      this.#branch(wanted.chatId, wanted.userId, wanted.leafId, {
        budget: wanted.budget,
        messageOverheadTokens: overhead,
        fileTokens: wanted.fileTokens,
      }),
    )
    const costOf = (row: ChatMessage) => {
      const counted =
        row.tokenCounter === counter.name && row.tokens !== null
          ? row.tokens
          : countMessageTokens(row, counter).total
      const files = (row.parts ?? []).filter((part) => part.type === 'file').length
      return counted + overhead + files * wanted.fileTokens
    }
    const excluded: ContextExclusion[] = []
    const candidates: { row: ChatMessage; tokens: number }[] = []
    for (const row of rows) {
      const tokens = costOf(row)
      const reason =
        row.status === 'streaming' ? 'streaming' : row.role === 'tool' ? 'tool-role' : undefined
      if (reason) excluded.push({ ...describe(row, tokens), reason })
      else candidates.push({ row, tokens })
    }

    const instructions = wanted.system ?? ''
    const systemCost = (text: string) => (text === '' ? 0 : counter.count(text) + overhead)
    const baseSystem = systemCost(instructions)
    const turnEnd = candidates.findIndex(({ row }) => row.role === 'user')
    const turn = turnEnd === -1 ? [] : candidates.slice(0, turnEnd + 1)
    const turnCost = turn.reduce((sum, c) => sum + c.tokens, 0)
    if (baseSystem + turnCost > wanted.budget) {
      throw new ValidationError(operation, [
        {
          path: 'budget',
          message: `is ${wanted.budget} tokens, less than the system instructions (${baseSystem}) and the current turn (${turnCost}) need together`,
        },
      ])
    }

    // The recent window as it would be without relevant messages: what relevant ones skip.
    const fill = (available: number) => {
      let used = 0
      let n = 0
      for (const candidate of candidates) {
        if (used + candidate.tokens > available) break
        used += candidate.tokens
        n++
      }
      return Math.max(n, turn.length)
    }
    const inWindow = new Set(
      candidates.slice(0, fill(wanted.budget - baseSystem)).map(({ row }) => row.id),
    )
    let system = instructions
    const relevant: ContextRelevant[] = []
    if (wanted.relevant) {
      const hits = await this.#parts.hybridSearch({
        userId: wanted.userId,
        text: wanted.relevant.text,
        embedding: wanted.relevant.embedding,
        limit: wanted.relevant.limit,
        consistency: 'primary',
      })
      const allowance = Math.min(
        Math.floor(wanted.budget * wanted.relevant.share),
        wanted.budget - baseSystem - turnCost,
      )
      // A deleted chat is not remembered, though its vectors stay until it is purged.
      const chatIds = [...new Set(hits.flatMap((hit) => (hit.chatId ? [hit.chatId] : [])))]
      const live =
        chatIds.length === 0
          ? new Set<string>()
          : new Set(
              (
                await this.#read(operation, () =>
                  context.executor
                    .select({ id: chats.id })
                    .from(chats)
                    .where(and(inArray(chats.id, chatIds), isNull(chats.deletedAt))),
                )
              ).map((chat) => chat.id),
            )
      const lines: string[] = []
      for (const hit of hits) {
        if (hit.chatId !== null && !live.has(hit.chatId)) continue
        if (hit.messageId !== null && inWindow.has(hit.messageId)) continue
        const text = withRelevant(instructions, [...lines, `- ${oneLine(hit.content)}`])
        if (systemCost(text) - baseSystem > allowance) continue
        lines.push(`- ${oneLine(hit.content)}`)
        system = text
        relevant.push({
          chunkId: hit.id,
          chatId: hit.chatId,
          messageId: hit.messageId,
          content: hit.content,
        })
      }
    }
    const systemTokens = systemCost(system)
    const fitted = fill(wanted.budget - systemTokens)
    let count = fitted
    // The window begins with a user message (a provider may refuse anything else first).
    while (count > turn.length && candidates[count - 1]!.row.role !== 'user') {
      const { row, tokens } = candidates[count - 1]!
      excluded.push({ ...describe(row, tokens), reason: 'turn-start' })
      count--
    }
    for (const { row, tokens } of candidates.slice(fitted)) {
      excluded.push({ ...describe(row, tokens), reason: 'over-budget' })
    }
    excluded.sort((a, b) => (b.seq ?? 0) - (a.seq ?? 0))
    const window = candidates.slice(0, count).reverse()
    const messageTokens = window.reduce((sum, c) => sum + c.tokens, 0)
    const messages = await this.#uiMessages(window.map(({ row }) => row))
    return {
      system: system === '' ? undefined : system,
      // The shape is the SDK's UIMessage; `M` lets a caller name it without a cast.
      messages: messages as M[],
      included: window.map(({ row, tokens }) => describe(row, tokens)),
      relevant,
      excluded,
      unreadFrom,
      tokens: {
        budget: wanted.budget,
        used: systemTokens + messageTokens,
        system: systemTokens,
        relevant: systemTokens - baseSystem,
        messages: messageTokens,
      },
      counter: counter.name,
    }
  }

  async #branch(
    chatId: string,
    userId: string,
    leafId: string | undefined,
    limits: Parameters<typeof walkBranch>[3],
  ) {
    const { context } = this.#parts
    const [chat] = await context.executor
      .select({ leaf: sql<string | null>`${activeLeafOfChatRow}`, deletedAt: chats.deletedAt })
      .from(chats)
      .where(and(eq(chats.id, chatId), eq(chats.userId, userId)))
    // Another user's chat is not found: whether it exists is not the caller's to know.
    if (!chat) throw notFoundChat(chatId)
    if (chat.deletedAt !== null) {
      throw new StratumError(
        'CONFLICT',
        `chat ${chatId} is deleted; restore it (chats.restore) to use it`,
        { details: { table: 'chats' } },
      )
    }
    const leaf =
      leafId === undefined
        ? chat.leaf
        : await resolveMessageId(context, chatId, leafId, 'context.build', 'leafId')
    if (leaf === null) return { rows: [], unreadFrom: null }
    return walkBranch(context.executor, chatId, leaf, limits)
  }

  async #uiMessages(rows: ChatMessage[]): Promise<ContextUIMessage[]> {
    const messages = rows.map(uiMessageOf)
    const ids = messages.flatMap((message) =>
      message.parts.flatMap((part) =>
        part.type === 'file' && part.attachmentId !== undefined ? [part.attachmentId] : [],
      ),
    )
    const { fileUrls } = this.#parts.context
    const urls = ids.length > 0 && fileUrls ? await fileUrls(ids) : undefined
    return messages.map((message) => toUIMessage(message, urls))
  }

  async #read<R>(operation: string, fn: () => Promise<R>): Promise<R> {
    try {
      return await fn()
    } catch (error) {
      throw mapDatabaseError(error, operation)
    }
  }
}

function describe(row: ChatMessage, tokens: number): ContextMessage {
  return { id: row.id, seq: row.seq, role: row.role, tokens }
}

const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim()

function withRelevant(instructions: string, lines: readonly string[]): string {
  const block = [RELEVANT_HEADER, ...lines].join('\n')
  return instructions === '' ? block : `${instructions}\n\n${block}`
}
