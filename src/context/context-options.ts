import { z } from 'zod'
import { textField } from '../schema/fields.js'
import { type TokenCounter, tokenCounterField } from '../tokens/token-counter.js'

/** The context builder's defaults, stated once. */
export const CONTEXT_DEFAULTS = Object.freeze({
  /**
   * Tokens a chat format adds around each message (OpenAI's: a start marker, the role, a
   * separator and an end marker).
   */
  messageOverheadTokens: 4,
  /**
   * What one file part (an image, a PDF) is taken to cost. A text tokenizer cannot count it:
   * providers charge by pixels or pages (an OpenAI high-detail 1024x1024 image is 765 tokens,
   * Anthropic's about 1,600 per megapixel). Set it for your model.
   */
  fileTokens: 1000,
  /** Relevant older messages looked up. */
  relevantLimit: 8,
  /** Long-term memories of the user looked up. */
  memoryLimit: 5,
  /** The most of the budget relevant older messages may take. */
  relevantShare: 0.25,
} as const)

/** The longest system instructions `build` takes, in characters. */
export const MAX_SYSTEM_LENGTH = 1_000_000

/** What `context.build` takes. */
export interface BuildContextOptions {
  /** The chat whose next model call this is. */
  chatId: string
  /** The chat's owner: the tenant. Another user's chat is NOT_FOUND. */
  userId: string
  /** Tokens the whole context may use (1 to 10,000,000). */
  budget: number
  /** The system instructions: always in, first. */
  system?: string
  /** The branch: the message it ends with (default: the chat's active branch). */
  leafId?: string
  /**
   * Older messages relevant to the new one, found by hybrid search over this user's chats
   * (their stored vectors): the new message's text and its embedding.
   */
  relevant?: {
    text: string
    embedding: number[]
    /** How many to look up (default 8, at most 100). */
    limit?: number
    /** The most of the budget they and the memories may take (default 0.25). */
    share?: number
    /** How many of the user's long-term memories to look up (default 5; 0: none). */
    memories?: number
  }
  /** Tokens one file part is taken to cost (default 1,000). */
  fileTokens?: number
  /** Tokens each message adds around its content (default 4). */
  messageOverheadTokens?: number
  /** Count with this counter instead of the layer's (stored counts of another are not used). */
  counter?: TokenCounter
}

/** How messages are costed: options of both `context.build` and `context.summarize`. */
export const costRuleFields = {
  fileTokens: z.number().int().min(0).max(1_000_000).default(CONTEXT_DEFAULTS.fileTokens),
  messageOverheadTokens: z
    .number()
    .int()
    .min(0)
    .max(1000)
    .default(CONTEXT_DEFAULTS.messageOverheadTokens),
  counter: tokenCounterField.optional(),
}

/** Validates `context.build`'s options. */
export const buildContextSchema = z
  .object({
    chatId: z.string(),
    userId: z.string(),
    budget: z.number().int().min(1).max(10_000_000),
    system: textField(MAX_SYSTEM_LENGTH).optional(),
    leafId: z.string().optional(),
    relevant: z
      .object({
        text: textField(10_000),
        embedding: z.array(z.number()),
        limit: z.number().int().min(1).max(100).default(CONTEXT_DEFAULTS.relevantLimit),
        share: z.number().min(0).max(1).default(CONTEXT_DEFAULTS.relevantShare),
        memories: z.number().int().min(0).max(100).default(CONTEXT_DEFAULTS.memoryLimit),
      })
      .strict()
      .optional(),
    ...costRuleFields,
  })
  .strict()
