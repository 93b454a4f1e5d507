import { z } from 'zod'

/** Isolation and access mode of a transaction. */
export interface TransactionOptions {
  isolationLevel?: 'read uncommitted' | 'read committed' | 'repeatable read' | 'serializable'
  accessMode?: 'read only' | 'read write'
}

/** @internal */
export const transactionOptionsSchema = z
  .object({
    isolationLevel: z
      .enum(['read uncommitted', 'read committed', 'repeatable read', 'serializable'])
      .optional(),
    accessMode: z.enum(['read only', 'read write']).optional(),
  })
  .strict()
