import { z } from 'zod'

/** The `backups` options: where backups go, how many are kept, where pg_dump is. */
export const backupsSchema = z
  .object({
    prefix: z.string().min(1).max(256).default('backups/'),
    keep: z.number().int().min(1).max(10_000).default(30),
    maxAgeDays: z.number().positive().max(36_500).default(7),
    pgBinDir: z.string().min(1).optional(),
  })
  .strict()
  .prefault({})
