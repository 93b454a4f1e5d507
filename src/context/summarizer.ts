import { and, eq, lt, sql } from 'drizzle-orm'
import { withDatabaseErrors } from '../db/map-database-error.js'
import { ValidationError } from '../errors.js'
import type { RepositoryContext } from '../repositories/repository-context.js'
import { validateScoped } from '../repositories/validate.js'
import type { ChatMessage } from '../schema/chat-messages.js'
import { type ChatSummary, chatSummaries } from '../schema/chat-summaries.js'
import { textField } from '../schema/fields.js'
import { checkedCounter } from '../tokens/token-counter.js'
import { chooseFold } from './fold-choice.js'
import { type ContextUIMessage, messageCost, uiMessagesOfRows } from './message-cost.js'
import { ownedChatLeaf } from './owned-chat.js'
import { walkBranch } from './path-walk.js'
import { MAX_SUMMARY_LENGTH, type SummarizeOptions, summarizeSchema } from './summary-options.js'

/** What a call to `context.summarize` did. */
export type SummarizeStatus =
  /** The app's function ran and its summary is stored. */
  | 'refreshed'
  /** The messages after the newest summary cost no more than the threshold: nothing ran. */
  | 'below-threshold'
  /** Over the threshold, but every message is one to keep (recent, or still streaming). */
  | 'nothing-to-fold'
  /** Another caller is refreshing this chat (or just did): this one ran nothing. */
  | 'claimed-elsewhere'
  /**
   * The function ran, but a message it summarised was changed meanwhile (or its claim was
   * taken over after `claimTtlMs`): its summary was not stored.
   */
  | 'discarded'

/** A stored summary. */
export interface StoredSummary {
  readonly id: string
  /** It covers this message and every message before it on the branch. */
  readonly coversMessageId: string
  readonly messageCount: number
  readonly content: string
  readonly tokens: number
  readonly createdAt: Date
}

/** What `context.summarize` returns. */
export interface SummarizeResult {
  readonly status: SummarizeStatus
  /** The newest summary on the branch after the call (the new one when `refreshed`). */
  readonly summary: StoredSummary | null
  /** What the messages after that summary cost. */
  readonly tailTokens: number
}

const summaryText = textField(MAX_SUMMARY_LENGTH).refine(
  (v) => v.trim() !== '',
  'must not be blank',
)

/**
 * Keeps a rolling summary per chat and branch. See {@link Summarizer.summarize}.
 */
export class Summarizer {
  readonly #context: RepositoryContext

  /** @internal */
  constructor(context: RepositoryContext) {
    this.#context = context
  }

  /**
   * Refreshes the chat's rolling summary when the messages after its newest summary cost
   * more than `threshold` tokens: the oldest of them (leaving the newest `keepRecent`
   * tokens and the current turn word for word, at most `maxInput` tokens) are handed with
   * the previous summary to the app's `summarize` function, and what it returns is stored as
   * the summary up to the last of them. Call it off the request path (after a reply is
   * stored); `context.build` uses the newest summary on the branch.
   *
   * A refresh runs once however many callers ask at the same time, in any number of
   * processes: the first claims the chat in Postgres, the others return
   * `claimed-elsewhere`. A claim outlives a crashed caller by at most `claimTtlMs`. The
   * function runs outside any transaction. If it throws, the claim is released and the error
   * is rethrown as it is; a return that is not a non-blank string of at most 100,000
   * characters is `VALIDATION`, and nothing is stored.
   */
  async summarize<M = ContextUIMessage>(options: SummarizeOptions<M>): Promise<SummarizeResult> {
    const operation = 'context.summarize'
    const context = this.#context
    const wanted = validateScoped(context, summarizeSchema, options, operation)
    const counter = wanted.counter ? checkedCounter(wanted.counter) : await context.tokens.counter()
    const rules = {
      counter,
      messageOverheadTokens: wanted.messageOverheadTokens,
      fileTokens: wanted.fileTokens,
    }
    const { chatId } = wanted

    const walked = await withDatabaseErrors(operation, async () => {
      const leaf = await ownedChatLeaf(context, chatId, wanted.userId, wanted.leafId, operation)
      if (leaf === null) return null
      return walkBranch(context.executor, chatId, leaf, { ...rules, budget: null, summaries: true })
    })
    const previous = walked?.summary ?? null
    const rows = walked ? (previous ? walked.rows.slice(0, -1) : walked.rows) : []
    const tail = rows.reverse().map((row) => ({ row, tokens: messageCost(row, rules) }))
    const tailTokens = tail.reduce((sum, message) => sum + message.tokens, 0)
    const result = (status: SummarizeStatus, summary: ChatSummary | null, tokens = tailTokens) => ({
      status,
      summary: summary && stored(summary),
      tailTokens: tokens,
    })
    if (tailTokens <= wanted.threshold) return result('below-threshold', previous)
    const n = chooseFold(tail, wanted)
    const fold = tail.slice(0, n).map(({ row }) => row)
    const last = fold.at(-1)
    if (!last || last.seq === null) return result('nothing-to-fold', previous)

    const claim = await withDatabaseErrors(operation, () =>
      this.#claim(chatId, last, (previous?.messageCount ?? 0) + fold.length, wanted.claimTtlMs),
    )
    if (!claim) return result('claimed-elsewhere', previous)
    let text: unknown
    try {
      const messages = await uiMessagesOfRows(
        context,
        fold.filter((row) => row.role !== 'tool'),
      )
      const summarize = wanted.summarize as SummarizeOptions<M>['summarize']
      text = await summarize({
        chatId,
        previous: previous?.content ?? undefined,
        messages: messages as M[],
      })
      const checked = summaryText.safeParse(text)
      if (!checked.success) {
        throw new ValidationError(operation, [
          {
            path: 'summarize',
            message: `returned ${typeof text === 'string' ? `a string that ${checked.error.issues[0]?.message ?? 'is not valid'}` : typeof text}; return the summary text (1 to ${MAX_SUMMARY_LENGTH} characters)`,
          },
        ])
      }
    } catch (error) {
      await this.#release(claim.id)
      throw error
    }
    const content = text as string
    const [ready] = await withDatabaseErrors(operation, () =>
      context.executor
        .update(chatSummaries)
        .set({
          status: 'ready',
          content,
          tokens: counter.count(content),
          tokenCounter: counter.name,
          claimedUntil: null,
        })
        .where(and(eq(chatSummaries.id, claim.id), eq(chatSummaries.status, 'pending')))
        .returning(),
    )
    if (!ready) return result('discarded', previous)
    const after = tail.slice(n).reduce((sum, message) => sum + message.tokens, 0)
    return result('refreshed', ready, after)
  }

  /**
   * Claims the chat's refresh with a pending row (one per chat, by a unique index), taking
   * over a claim whose holder ran past its time; undefined when another caller holds it.
   */
  async #claim(
    chatId: string,
    last: ChatMessage,
    messageCount: number,
    claimTtlMs: number,
  ): Promise<{ id: string } | undefined> {
    const executor = this.#context.executor
    const insert = () =>
      executor
        .insert(chatSummaries)
        .values({
          chatId,
          coversMessageId: last.id,
          coversSeq: last.seq!,
          status: 'pending',
          messageCount,
          claimedUntil: sql`now() + ${claimTtlMs} * interval '1 millisecond'`,
        })
        .onConflictDoNothing()
        .returning({ id: chatSummaries.id })
    const [claimed] = await insert()
    if (claimed) return claimed
    const expired = await executor
      .delete(chatSummaries)
      .where(
        and(
          eq(chatSummaries.chatId, chatId),
          eq(chatSummaries.status, 'pending'),
          lt(chatSummaries.claimedUntil, sql`now()`),
        ),
      )
      .returning({ id: chatSummaries.id })
    if (expired.length === 0) return undefined
    const [retaken] = await insert()
    return retaken
  }

  async #release(id: string): Promise<void> {
    await this.#context.executor
      .delete(chatSummaries)
      .where(and(eq(chatSummaries.id, id), eq(chatSummaries.status, 'pending')))
      .catch(() => {})
  }
}

function stored(row: ChatSummary): StoredSummary {
  return {
    id: row.id,
    coversMessageId: row.coversMessageId,
    messageCount: row.messageCount,
    content: row.content ?? '',
    tokens: row.tokens ?? 0,
    createdAt: row.createdAt,
  }
}
