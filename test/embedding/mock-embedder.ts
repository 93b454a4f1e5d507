import { embedMany } from 'ai'
import { MockEmbeddingModelV4 } from 'ai/test'
import { wordHashEmbedding } from '../../src/testing/synthetic-vectors.js'

/**
 * Embedding on write through the real AI SDK: `embedMany` with the SDK's own
 * `MockEmbeddingModelV4` (from `ai/test`), whose vectors are a bag-of-words hash of each
 * text. `seen` holds every text the model was asked to embed, in call order.
 */
export function mockEmbedder(dimensions: number, options: { delayMs?: number } = {}) {
  const seen: string[] = []
  let fail: ((texts: string[]) => Error | undefined) | undefined
  let during: ((texts: string[]) => Promise<void>) | undefined
  const model = new MockEmbeddingModelV4({
    maxEmbeddingsPerCall: 256,
    doEmbed: async ({ values }) => {
      if (options.delayMs) await new Promise((resolve) => setTimeout(resolve, options.delayMs))
      await during?.(values)
      const error = fail?.(values)
      if (error) throw error
      seen.push(...values)
      return {
        embeddings: values.map((text) => wordHashEmbedding(text, dimensions)),
        warnings: [],
      }
    },
  })
  return {
    seen,
    model,
    /** Makes the model throw what `decide` returns for a call's texts (nothing: it answers). */
    failWhen(decide: ((texts: string[]) => Error | undefined) | undefined) {
      fail = decide
    },
    /** Runs `hook` inside each call, before it answers. */
    whileEmbedding(hook: ((texts: string[]) => Promise<void>) | undefined) {
      during = hook
    },
    embed: async (texts: string[]) =>
      (await embedMany({ model, values: texts, maxRetries: 0 })).embeddings,
  }
}
