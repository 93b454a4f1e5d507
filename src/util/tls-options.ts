import { z } from 'zod'

const pemSchema = z.union([z.string().min(1), z.instanceof(Buffer)])

/**
 * TLS for a server connection (the database, Redis): `true` (system CAs, verified) or
 * `{ ca, cert, key, servername, rejectUnauthorized }`.
 */
export const tlsSchema = z.union([
  z.boolean(),
  z
    .object({
      ca: pemSchema.optional(),
      cert: pemSchema.optional(),
      key: pemSchema.optional(),
      servername: z.string().optional(),
      rejectUnauthorized: z.boolean().default(true),
    })
    .strict(),
])

/** TLS settings for a Postgres or Redis server connection. */
export type TlsOptions = z.input<typeof tlsSchema>
