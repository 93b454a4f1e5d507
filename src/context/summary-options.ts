import { z } from 'zod'
import type { TokenCounter } from '../tokens/token-counter.js'
import { costRuleFields } from './context-options.js'
import type { ContextUIMessage } from './message-cost.js'

/** The summarizer's defaults, stated once. */
export const SUMMARY_DEFAULTS = Object.freeze({
  /** Refresh once the messages after the newest summary cost more than this. */
  threshold: 4000,
  /** Tokens of the newest messages a refresh leaves out of the summary, word for word. */
  keepRecent: 2000,
  /** The most tokens of messages one refresh hands to the app's function. */
  maxInput: 16_000,
  /** How long a refresh's claim holds before another caller may take it over. */
  claimTtlMs: 300_000,
} as const)

/** The longest summary the app's function may return, in characters. */
export const MAX_SUMMARY_LENGTH = 100_000

/** What the app's summarize function is given. */
export interface SummarizeInput<M = ContextUIMessage> {
  readonly chatId: string
  /** The summary this one extends (of the messages before `messages`), if there is one. */
  readonly previous: string | undefined
  /** The messages to fold into the summary, oldest first, as UI messages. */
  readonly messages: M[]
}

/** What `context.summarize` takes. */
export interface SummarizeOptions<M = ContextUIMessage> {
  chatId: string
  /** The chat's owner. Another user's chat is NOT_FOUND. */
  userId: string
  /** The branch: the message it ends with (default: the chat's active branch). */
  leafId?: string
  /**
   * Writes the new summary: the previous one extended by the messages (call your model
   * here; the library never calls one). Its text is stored exactly as returned.
   */
  summarize: (input: SummarizeInput<M>) => Promise<string>
  /** Refresh once the messages after the newest summary cost more than this (default 4,000). */
  threshold?: number
  /** Tokens of the newest messages left out of the summary (default 2,000). */
  keepRecent?: number
  /** The most tokens of messages one refresh folds in (default 16,000); more waits for the next. */
  maxInput?: number
  /** How long a refresh may run before another caller may take it over (default 300,000 ms). */
  claimTtlMs?: number
  /** Tokens one file part is taken to cost (default 1,000). */
  fileTokens?: number
  /** Tokens each message adds around its content (default 4). */
  messageOverheadTokens?: number
  /** Count with this counter instead of the layer's. */
  counter?: TokenCounter
}

/** Validates `context.summarize`'s options. */
export const summarizeSchema = z
  .object({
    chatId: z.string(),
    userId: z.string(),
    leafId: z.string().optional(),
    summarize: z.custom<SummarizeOptions['summarize']>((v) => typeof v === 'function', {
      message: 'must be a function ({ previous, messages }) => Promise<string>',
    }),
    threshold: z.number().int().min(0).max(10_000_000).default(SUMMARY_DEFAULTS.threshold),
    keepRecent: z.number().int().min(0).max(10_000_000).default(SUMMARY_DEFAULTS.keepRecent),
    maxInput: z.number().int().min(1).max(10_000_000).default(SUMMARY_DEFAULTS.maxInput),
    claimTtlMs: z.number().int().min(1000).max(86_400_000).default(SUMMARY_DEFAULTS.claimTtlMs),
    ...costRuleFields,
  })
  .strict()
