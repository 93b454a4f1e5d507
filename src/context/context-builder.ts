import { and, inArray, isNull } from 'drizzle-orm'
import { withDatabaseErrors } from '../db/map-database-error.js'
import { ValidationError } from '../errors.js'
import type { RepositoryContext } from '../repositories/repository-context.js'
import { validateScoped } from '../repositories/validate.js'
import type { ChatMessage } from '../schema/chat-messages.js'
import type { ChatNote } from '../schema/chat-notes.js'
import { chats } from '../schema/chats.js'
import { checkedCounter } from '../tokens/token-counter.js'
import type { HybridSearchHit, HybridSearchOptions } from '../vector/vector-types.js'
import { type BuildContextOptions, buildContextSchema } from './context-options.js'
import { type ContextUIMessage, messageCost, uiMessagesOfRows } from './message-cost.js'
import { ownedChatLeaf } from './owned-chat.js'
import { type WalkedBranch, type WalkLimits, walkBranch } from './path-walk.js'
import { notesOfChat } from './pinned-notes.js'
import { SystemText } from './system-text.js'

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

/** A pinned note of the chat, and what it added to the system text. */
export interface ContextNote {
  readonly id: string
  readonly tokens: number
}

/** The chat's summary that the walk up the branch stopped at. */
export interface ContextSummary {
  readonly id: string
  /** It covers this message and every message before it on the branch. */
  readonly coversMessageId: string
  /** How many messages it covers. */
  readonly messageCount: number
  /** What it adds to the system text. */
  readonly tokens: number
  /** Whether it is in `system`: it is left out when the budget has no room for it. */
  readonly included: boolean
}

/**
 * What `context.build` returns. `M` is the type its messages are given as: pass the AI SDK's
 * `UIMessage` (`build<UIMessage>(...)`) to hand them to `convertToModelMessages` as they are.
 */
export interface BuiltContext<M = ContextUIMessage> {
  /**
   * The system text: the instructions, the pinned notes, the summary of what came before the
   * messages, then the relevant older messages. Give it to the model as `system`; undefined
   * when there is none of them.
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
  /** The chat's pinned notes in `system`, in the order they were pinned. */
  readonly notes: readonly ContextNote[]
  /** Pinned notes left out: the budget had no room for them after the current turn. */
  readonly excludedNotes: readonly ContextNote[]
  /** The newest summary on the branch before the messages, whether or not it fit. */
  readonly summary: ContextSummary | null
  /** The user's long-term memories in `system`, nearest the new message first. */
  readonly memories: readonly ContextMemory[]
  /** The relevant older messages and chunks in `system`, most relevant first. */
  readonly relevant: readonly ContextRelevant[]
  /** Messages of the branch that were read and left out, newest first. */
  readonly excluded: readonly ContextExclusion[]
  /**
   * The newest message of the branch that was not read: it and everything before it did not
   * fit, or (with `summary`) are what the summary covers. Null when the branch was read to
   * its first message.
   */
  readonly unreadFrom: string | null
  readonly tokens: {
    readonly budget: number
    /** All of it: `system` plus `messages`, as counted; never more than the budget. */
    readonly used: number
    /** The system text (instructions, notes, summary, relevant messages) with its overhead. */
    readonly system: number
    /** The part of `system` the pinned notes took. */
    readonly notes: number
    /** The part of `system` the summary took (0 when it is left out). */
    readonly summary: number
    /** The part of `system` the memories took. */
    readonly memories: number
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
  /** The user's current long-term memories nearest an embedding. */
  readonly searchMemories: (options: {
    userId: string
    embedding: number[]
    limit: number
  }) => Promise<ContextMemory[]>
}

/** A long-term memory of the user put into the system text. */
export interface ContextMemory {
  readonly id: string
  readonly key: string | null
  readonly content: string
}

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
   * 3. the chat's pinned notes (`pin`), each whole, in the order they were pinned;
   * 4. the newest summary on the branch (`summarize`): the walk up the branch stops at the
   *    message it covers;
   * 5. with `relevant`: the user's long-term memories nearest the new message (`memory`),
   *    then older messages and chunks relevant to it (hybrid search over this user's stored
   *    vectors), together up to `share` of the budget, as lines of the system text, leaving
   *    out those already in the window;
   * 6. the most recent messages before the turn (after the summary) that fit, whole, back to
   *    the first that does not; the window then begins at a user message.
   *
   * Every message is whole: a tool call and its result, a message and its files, are in or
   * out together. Counts are the stored ones when they were made by the same counter, else
   * counted now. The same data and options give the same result. A budget too small for the
   * instructions and the current turn is `VALIDATION`, naming what they cost.
   */
  async build<M = ContextUIMessage>(options: BuildContextOptions): Promise<BuiltContext<M>> {
    const operation = 'context.build'
    const { context } = this.#parts
    const wanted = validateScoped(context, buildContextSchema, options, operation)
    const counter = wanted.counter ? checkedCounter(wanted.counter) : await context.tokens.counter()
    const overhead = wanted.messageOverheadTokens

    const { rows, summary, unreadFrom, notes } = await withDatabaseErrors(operation, () =>
      this.#branch(wanted, {
        budget: wanted.budget,
        messageOverheadTokens: overhead,
        fileTokens: wanted.fileTokens,
        summaries: true,
      }),
    )
    const rules = { counter, messageOverheadTokens: overhead, fileTokens: wanted.fileTokens }
    const excluded: ContextExclusion[] = []
    const candidates: { row: ChatMessage; tokens: number }[] = []
    for (const row of rows) {
      const tokens = messageCost(row, rules)
      const reason =
        row.status === 'streaming' ? 'streaming' : row.role === 'tool' ? 'tool-role' : undefined
      if (reason) excluded.push({ ...describe(row, tokens), reason })
      else candidates.push({ row, tokens })
    }

    const systemCost = (text: SystemText) => text.cost(counter, overhead)
    let system = new SystemText(wanted.system ?? '')
    const baseSystem = systemCost(system)
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
    // Each addition to the system text is kept only if it still leaves room for the turn.
    const fits = (text: SystemText) => systemCost(text) + turnCost <= wanted.budget
    const includedNotes: ContextNote[] = []
    const excludedNotes: ContextNote[] = []
    for (const note of notes) {
      const withNote = system.withNote(note.content)
      const tokens = systemCost(withNote) - systemCost(system)
      if (fits(withNote)) {
        system = withNote
        includedNotes.push({ id: note.id, tokens })
      } else excludedNotes.push({ id: note.id, tokens })
    }
    const notesTokens = systemCost(system) - baseSystem
    let summaryUsed: ContextSummary | null = null
    if (summary) {
      const withSummary = system.withSummary(summary.content ?? '')
      const tokens = systemCost(withSummary) - systemCost(system)
      const included = fits(withSummary)
      if (included) system = withSummary
      summaryUsed = {
        id: summary.id,
        coversMessageId: summary.coversMessageId,
        messageCount: summary.messageCount,
        tokens,
        included,
      }
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
    const beforeRelevant = systemCost(system)
    const inWindow = new Set(
      candidates.slice(0, fill(wanted.budget - beforeRelevant)).map(({ row }) => row.id),
    )
    const relevant: ContextRelevant[] = []
    const memories: ContextMemory[] = []
    let memoryTokens = 0
    if (wanted.relevant) {
      const allowance = Math.min(
        Math.floor(wanted.budget * wanted.relevant.share),
        wanted.budget - beforeRelevant - turnCost,
      )
      // Memories first, then older messages, together within the allowance.
      const facts =
        wanted.relevant.memories === 0
          ? []
          : await this.#parts.searchMemories({
              userId: wanted.userId,
              embedding: wanted.relevant.embedding,
              limit: wanted.relevant.memories,
            })
      for (const fact of facts) {
        const withFact = system.withMemory(fact.content)
        if (systemCost(withFact) - beforeRelevant > allowance) continue
        system = withFact
        memories.push({ id: fact.id, key: fact.key, content: fact.content })
      }
      memoryTokens = systemCost(system) - beforeRelevant
      for (const hit of await this.#relevantHits(operation, wanted.userId, wanted.relevant)) {
        if (hit.messageId !== null && inWindow.has(hit.messageId)) continue
        const withHit = system.withRelevant(hit.content)
        if (systemCost(withHit) - beforeRelevant > allowance) continue
        system = withHit
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
    const messages = await uiMessagesOfRows(
      context,
      window.map(({ row }) => row),
    )
    const text = system.toString()
    return {
      system: text === '' ? undefined : text,
      // The shape is the SDK's UIMessage; `M` lets a caller name it without a cast.
      messages: messages as M[],
      included: window.map(({ row, tokens }) => describe(row, tokens)),
      notes: includedNotes,
      excludedNotes,
      summary: summaryUsed,
      memories,
      relevant,
      excluded,
      unreadFrom,
      tokens: {
        budget: wanted.budget,
        used: systemTokens + messageTokens,
        system: systemTokens,
        notes: notesTokens,
        summary: summaryUsed?.included ? summaryUsed.tokens : 0,
        memories: memoryTokens,
        relevant: systemTokens - beforeRelevant - memoryTokens,
        messages: messageTokens,
      },
      counter: counter.name,
    }
  }

  /** This user's stored vectors that match, from chats that are not deleted. */
  async #relevantHits(
    operation: string,
    userId: string,
    relevant: NonNullable<BuildContextOptions['relevant']>,
  ): Promise<HybridSearchHit[]> {
    const { context } = this.#parts
    const hits = await this.#parts.hybridSearch({
      userId,
      text: relevant.text,
      embedding: relevant.embedding,
      limit: relevant.limit,
      consistency: 'primary',
    })
    // A deleted chat is not remembered, though its vectors stay until it is purged.
    const chatIds = [...new Set(hits.flatMap((hit) => (hit.chatId ? [hit.chatId] : [])))]
    if (chatIds.length === 0) return hits
    const live = await withDatabaseErrors(operation, () =>
      context.executor
        .select({ id: chats.id })
        .from(chats)
        .where(and(inArray(chats.id, chatIds), isNull(chats.deletedAt))),
    )
    const liveIds = new Set(live.map((chat) => chat.id))
    return hits.filter((hit) => hit.chatId === null || liveIds.has(hit.chatId))
  }

  async #branch(
    wanted: { chatId: string; userId: string; leafId?: string | undefined },
    limits: WalkLimits,
  ): Promise<WalkedBranch & { notes: ChatNote[] }> {
    const { context } = this.#parts
    const { chatId } = wanted
    const leaf = await ownedChatLeaf(context, chatId, wanted.userId, wanted.leafId, 'context.build')
    const notes = await notesOfChat(context, chatId)
    if (leaf === null) return { rows: [], summary: null, unreadFrom: null, notes }
    const walked = await walkBranch(context.executor, chatId, leaf, limits)
    if (!walked.summary) return { ...walked, notes }
    // A summary stands for the messages before the current turn, never a part of it (a leaf
    // named at or just after what it covers): then the branch is read without summaries.
    const coversTurn = !walked.rows.slice(0, -1).some((row) => row.role === 'user')
    if (coversTurn) {
      return {
        ...(await walkBranch(context.executor, chatId, leaf, { ...limits, summaries: false })),
        notes,
      }
    }
    return {
      rows: walked.rows.slice(0, -1),
      summary: walked.summary,
      unreadFrom: walked.summary.coversMessageId,
      notes,
    }
  }
}

function describe(row: ChatMessage, tokens: number): ContextMessage {
  return { id: row.id, seq: row.seq, role: row.role, tokens }
}
