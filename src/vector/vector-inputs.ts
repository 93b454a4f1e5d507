import { z } from 'zod'
import { embeddingField } from '../schema/fields.js'
import { metadataFilterSchema } from './metadata-filter.js'

/** The arguments of `vectors.search` for a table of `dimensions`. */
export const searchSchema = (dimensions: number) =>
  z
    .object({
      embedding: embeddingField(dimensions),
      userId: z.uuid().optional(),
      scope: z.enum(['user', 'all']).default('user'),
      chatId: z.uuid().optional(),
      filter: metadataFilterSchema.optional(),
      limit: z.number().int().min(1).max(1000).default(10),
      offset: z.number().int().min(0).max(10_000).default(0),
      metric: z.enum(['cosine', 'l2', 'inner_product']).default('cosine'),
      minScore: z.number().refine(Number.isFinite, 'must be a finite number').optional(),
      efSearch: z.number().int().min(1).max(1000).optional(),
      exactSearchBelow: z.number().int().min(0).max(1_000_000).default(2000),
      explain: z.boolean().optional(),
      consistency: z.enum(['primary', 'replica']).optional(),
    })
    .strict()
    .superRefine((q, ctx) => {
      if (q.scope === 'user' && q.userId === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['userId'],
          message: "is required (search every user's vectors only with scope: 'all')",
        })
      }
      if (q.scope === 'all' && q.userId !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['scope'],
          message: "'all' cannot be combined with userId",
        })
      }
    })

/** The hybrid-only arguments of `vectors.hybridSearch`. */
export const hybridSchema = z
  .object({
    text: z.string().trim().min(1).max(1000),
    rrfK: z.number().int().min(1).max(1000).default(60),
    weights: z
      .object({
        vector: z.number().min(0).max(100).default(1),
        text: z.number().min(0).max(100).default(1),
      })
      .strict()
      .default({ vector: 1, text: 1 }),
    candidates: z.number().int().min(1).max(1000).optional(),
  })
  .strict()

/** The arguments of `vectors.measureRecall`. */
export const recallSchema = z
  .object({
    sample: z.number().int().min(1).max(1000).default(50),
    limit: z.number().int().min(1).max(1000).default(10),
    metric: z.enum(['cosine', 'l2', 'inner_product']).default('cosine'),
    efSearch: z.number().int().min(1).max(1000).optional(),
    perUser: z.boolean().default(false),
    seed: z.number().int().min(0).max(2_147_483_647).optional(),
  })
  .strict()

/** Which vectors `vectors.delete` removes. */
export const selectorSchema = z.union([
  z.object({ ids: z.array(z.uuid()).min(1).max(10_000) }).strict(),
  z.object({ messageId: z.uuid() }).strict(),
  z.object({ chatId: z.uuid() }).strict(),
  z.object({ userId: z.uuid() }).strict(),
])
