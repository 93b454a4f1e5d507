import { z } from 'zod'
import { embeddingField, jsonObjectField, textField } from '../schema/fields.js'

/** The longest remembered fact, in characters. */
export const MAX_MEMORY_LENGTH = 10_000
/** The longest key, in characters. */
export const MAX_MEMORY_KEY_LENGTH = 200

/** What `memory.remember` takes. */
export interface RememberInput {
  /** Whose fact it is. */
  userId: string
  /** The fact, stored exactly as given (1 to 10,000 characters). */
  content: string
  /**
   * What it is about (`home_city`): a newer fact under the same key supersedes the current
   * one (which stays in `history`). Without a key a fact stands until `forget`.
   */
  key?: string
  /** Its embedding (else made by `embedOnWrite.embed` when configured). */
  embedding?: number[]
  metadata?: Record<string, unknown>
  /** From when it holds (default: now); not before the fact it supersedes. */
  validFrom?: Date
  /** The message it was learnt from. */
  sourceMessageId?: string
}

/** What `memory.search` takes. */
export interface MemorySearchOptions {
  userId: string
  /** Rank by meaning: the embedding of the question. */
  embedding?: number[]
  /** Rank by words (or by meaning, embedded by `embedOnWrite.embed`, without `embedding`). */
  text?: string
  /** Only facts under this key. */
  key?: string
  /** How many (default 5, at most 100). */
  limit?: number
  /** The facts valid at this time (default: the current ones). */
  at?: Date
}

const keyField = textField(MAX_MEMORY_KEY_LENGTH).refine(
  (v) => v.trim() !== '',
  'must not be blank',
)
const validDate = z.date().refine((d) => !Number.isNaN(d.getTime()), 'must be a valid Date')

/** Validates `memory.remember`'s input for a layer of `dimensions`. */
export const rememberSchema = (dimensions: number) =>
  z
    .object({
      userId: z.string(),
      content: textField(MAX_MEMORY_LENGTH).refine((v) => v.trim() !== '', 'must not be blank'),
      key: keyField.optional(),
      embedding: embeddingField(dimensions).optional(),
      metadata: jsonObjectField.optional(),
      validFrom: validDate.optional(),
      sourceMessageId: z.string().optional(),
    })
    .strict()

/** Validates `memory.search`'s options for a layer of `dimensions`. */
export const memorySearchSchema = (dimensions: number) =>
  z
    .object({
      userId: z.string(),
      embedding: embeddingField(dimensions).optional(),
      text: textField(10_000).optional(),
      key: keyField.optional(),
      limit: z.number().int().min(1).max(100).default(5),
      at: validDate.optional(),
    })
    .strict()

/** Validates the options that name one user's facts by key. */
export const memoryKeySchema = z.object({ userId: z.string(), key: keyField }).strict()
/** Validates `memory.forget`'s options. */
export const forgetSchema = z
  .object({ userId: z.string(), id: z.string(), at: validDate.optional() })
  .strict()
/** Validates `memory.list`'s options. */
export const listMemoriesSchema = z
  .object({ userId: z.string(), at: validDate.optional() })
  .strict()
