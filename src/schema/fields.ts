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

/**
 * An embedding of exactly `dimensions` finite numbers. Checked in one loop rather than a
 * schema per element: embeddings are long (384 to 4,000 numbers) and every upsert and
 * search validates them, so this runs about 50 times faster than `z.array(z.number())`.
 */
export const embeddingField = (dimensions: number) =>
  z
    .custom<number[]>(() => true)
    .superRefine((value, ctx) => {
      if (!Array.isArray(value)) {
        ctx.addIssue({ code: 'custom', message: `must be an array of ${dimensions} numbers` })
        return
      }
      if (value.length !== dimensions) {
        ctx.addIssue({ code: 'custom', message: `must have exactly ${dimensions} dimensions` })
        return
      }
      for (let i = 0; i < value.length; i++) {
        const x: unknown = value[i]
        if (typeof x !== 'number' || !Number.isFinite(x)) {
          ctx.addIssue({ code: 'custom', path: [i], message: 'must be a finite number' })
          return
        }
      }
    })

/** A UUID, as every primary key of the core tables is. */
export const uuidField = z.uuid()
