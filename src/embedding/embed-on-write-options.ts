import { z } from 'zod'

/** Embeds texts: one vector per text, in order (the AI SDK's `embedMany` fits it). */
export type EmbedTexts = (texts: string[]) => Promise<number[][]>

/** Embedding on write's defaults, stated once. */
export const EMBED_ON_WRITE_DEFAULTS = Object.freeze({
  /** The longest chunk of a message, in tokens of the layer's counter. */
  maxChunkTokens: 512,
  /** Messages one batch claims (their chunks go to one `embed` call). */
  batchSize: 64,
  /** How often the worker looks for due messages when the queue was empty. */
  pollIntervalMs: 1000,
  /** How long a claim holds: a batch still running after it may be claimed again. */
  leaseMs: 120_000,
  /** Claims of one message before it is set aside as failed. */
  maxAttempts: 8,
  /** The first retry's delay; each next one doubles, with jitter, up to `retryMaxMs`. */
  retryBaseMs: 1000,
  retryMaxMs: 600_000,
} as const)

/** The `embedOnWrite` options. */
export const embedOnWriteSchema = z
  .object({
    /** Embeds texts, one vector of `embeddings.dimensions` numbers per text, in order. */
    embed: z.custom<EmbedTexts>((v) => typeof v === 'function', {
      message: 'must be a function (texts: string[]) => Promise<number[][]>',
    }),
    maxChunkTokens: z
      .number()
      .int()
      .min(16)
      .max(1_000_000)
      .default(EMBED_ON_WRITE_DEFAULTS.maxChunkTokens),
    batchSize: z.number().int().min(1).max(1000).default(EMBED_ON_WRITE_DEFAULTS.batchSize),
    pollIntervalMs: z
      .number()
      .int()
      .min(10)
      .max(3_600_000)
      .default(EMBED_ON_WRITE_DEFAULTS.pollIntervalMs),
    leaseMs: z.number().int().min(1000).max(86_400_000).default(EMBED_ON_WRITE_DEFAULTS.leaseMs),
    maxAttempts: z.number().int().min(1).max(100).default(EMBED_ON_WRITE_DEFAULTS.maxAttempts),
    retryBaseMs: z
      .number()
      .int()
      .min(1)
      .max(3_600_000)
      .default(EMBED_ON_WRITE_DEFAULTS.retryBaseMs),
    retryMaxMs: z.number().int().min(1).max(86_400_000).default(EMBED_ON_WRITE_DEFAULTS.retryMaxMs),
    /**
     * Run the worker in this process (default). Off: nothing embeds until you call
     * `data.embeddings.drain()` (a cron job, a serverless function after its response).
     */
    worker: z.boolean().default(true),
  })
  .strict()

/** The `embedOnWrite` options as given. */
export type EmbedOnWriteOptions = z.input<typeof embedOnWriteSchema>
/** The `embedOnWrite` options with their defaults. */
export type ResolvedEmbedOnWrite = z.output<typeof embedOnWriteSchema>
