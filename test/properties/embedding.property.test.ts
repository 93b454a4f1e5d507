import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { chunkText, createDataLayer } from '../../src/index.js'
import { anyInput, propertyOptions, settle } from '../helpers/property.js'
import { o200k } from '../helpers/tokens.js'

// Issue #20, embedding on write: generated texts for the chunker, and generated options.

const graphemes = new Intl.Segmenter('und', { granularity: 'grapheme' })

describe('chunks of a message, generated', () => {
  it('are exact pieces of the text, in order, each within the limit unless one character is over it', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'grapheme', maxLength: 400 }),
          fc
            .array(
              fc.constantFrom(
                'Hello there. ',
                'Ein Satz! ',
                '长句子。',
                'x'.repeat(120),
                '\n\n',
                '🙂',
              ),
              {
                maxLength: 60,
              },
            )
            .map((parts) => parts.join('')),
        ),
        fc.integer({ min: 1, max: 64 }),
        (text, maxTokens) => {
          const chunks = chunkText(text, maxTokens, o200k)
          let rest = text
          for (const chunk of chunks) {
            expect(chunk.trim()).not.toBe('')
            const at = rest.indexOf(chunk)
            expect(at).toBeGreaterThanOrEqual(0)
            // Only white space is skipped between chunks.
            expect(rest.slice(0, at).trim()).toBe('')
            rest = rest.slice(at + chunk.length)
            const oneCharacter = [...graphemes.segment(chunk)].length === 1
            expect(oneCharacter || o200k(chunk) <= maxTokens).toBe(true)
          }
          expect(rest.trim()).toBe('')
        },
      ),
      propertyOptions(300),
    )
  })
})

const validOptions = fc.record(
  {
    embed: fc.constant(async (texts: string[]) => texts.map(() => [1, 0])),
    maxChunkTokens: fc.integer({ min: 16, max: 1_000_000 }),
    batchSize: fc.integer({ min: 1, max: 1000 }),
    maxAttempts: fc.integer({ min: 1, max: 100 }),
    leaseMs: fc.integer({ min: 1000, max: 86_400_000 }),
    worker: fc.constant(false),
  },
  { requiredKeys: ['embed', 'worker'] },
)
const KEYS = [
  'embed',
  'maxChunkTokens',
  'batchSize',
  'maxAttempts',
  'leaseMs',
  'retryMaxMs',
  'other',
]

describe('embedOnWrite options, generated', () => {
  it('opens with any valid option set and refuses one bad value with CONFIG', async () => {
    let opened = 0
    await fc.assert(
      fc.asyncProperty(
        validOptions,
        fc.option(fc.tuple(fc.constantFrom(...KEYS), anyInput), { nil: undefined }),
        async (valid, bad) => {
          const embedOnWrite = bad ? { ...valid, [bad[0]]: bad[1] } : valid
          const outcome = await settle(
            () =>
              createDataLayer({
                embeddings: { dimensions: 2 },
                embedOnWrite: embedOnWrite as never,
              }),
            ['CONFIG'],
          )
          if (!bad) expect(outcome.ok).toBe(true)
          if (outcome.ok) {
            opened++
            await outcome.value.close()
          }
        },
      ),
      // Each valid set opens an embedded database: few runs.
      propertyOptions(12),
    )
    expect(opened).toBeGreaterThan(0)
  })
})
