import { z } from 'zod'

/** Longest text content (message or vector chunk) accepted, in characters. */
export const MAX_CONTENT_LENGTH = 1_000_000
/** Largest JSON metadata object accepted, in characters of its JSON text. */
export const MAX_METADATA_JSON_LENGTH = 256 * 1024

const noNul = (value: string) => !value.includes('\u0000')

/** Text Postgres can store: no NUL characters, at most `max` characters. */
export const textField = (max: number) =>
  z.string().max(max).refine(noNul, 'must not contain NUL (\\u0000) characters')

/** Emails are trimmed and lower-cased before they are checked and stored. */
export const emailField = z.string().trim().toLowerCase().max(255).pipe(z.email())

/** A plain JSON object that serializes within {@link MAX_METADATA_JSON_LENGTH}. */
export const jsonObjectField = z.record(z.string(), z.unknown()).superRefine((value, ctx) => {
  let json: string | undefined
  try {
    json = JSON.stringify(value, (_key, v: unknown) => {
      if (typeof v === 'bigint' || typeof v === 'function' || typeof v === 'symbol') {
        throw new TypeError(`holds a ${typeof v}, which JSON cannot store`)
      }
      if (typeof v === 'number' && !Number.isFinite(v)) {
        throw new TypeError('holds a non-finite number, which JSON cannot store')
      }
      return v
    })
  } catch (error) {
    ctx.addIssue({
      code: 'custom',
      message: `must be JSON-serializable (${(error as Error).message})`,
    })
    return
  }
  if (json !== undefined && json.length > MAX_METADATA_JSON_LENGTH) {
    ctx.addIssue({
      code: 'custom',
      message: `must be at most ${MAX_METADATA_JSON_LENGTH} characters as JSON`,
    })
  }
  if (json?.includes('\\u0000')) {
    ctx.addIssue({ code: 'custom', message: 'must not contain NUL (\\u0000) characters' })
  }
})

/** An embedding of exactly `dimensions` finite numbers. */
export const embeddingField = (dimensions: number) =>
  z
    .array(
      z
        .number({ error: 'must be a finite number' })
        .refine(Number.isFinite, 'must be a finite number'),
    )
    .length(dimensions, `must have exactly ${dimensions} dimensions`)
