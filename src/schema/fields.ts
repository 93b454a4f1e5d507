import { z } from 'zod'
import { type JsonValue, jsonProblem, textProblem } from './json-value.js'

/** Longest text content (message or vector chunk) accepted, in characters. */
export const MAX_CONTENT_LENGTH = 1_000_000
/** Largest JSON metadata object accepted, in characters of its JSON text. */
export const MAX_METADATA_JSON_LENGTH = 256 * 1024

/** Text Postgres can store exactly: no NUL characters, no lone surrogates, at most `max` characters. */
export const textField = (max: number) =>
  z
    .string()
    .max(max)
    .superRefine((value, ctx) => {
      const problem = textProblem(value)
      if (problem) ctx.addIssue({ code: 'custom', message: problem })
    })

/** Emails are trimmed and lower-cased before they are checked and stored. */
export const emailField = z.string().trim().toLowerCase().max(255).pipe(z.email())

/** Adds why `value` would not read back from jsonb exactly as an issue; whether it would. */
function checkJson(value: unknown, ctx: z.RefinementCtx): boolean {
  const problem = jsonProblem(value)
  if (problem) {
    ctx.addIssue({
      code: 'custom',
      path: problem.path === '' ? [] : [problem.path],
      message: problem.message,
    })
  }
  return problem === undefined
}

/** Any JSON value that reads back from jsonb exactly as given (see {@link jsonProblem}). */
export const jsonValueField = z.custom<JsonValue>().superRefine((value, ctx) => {
  if (value === undefined) ctx.addIssue({ code: 'custom', message: 'must be a JSON value' })
  else checkJson(value, ctx)
})

/**
 * A plain JSON object that reads back exactly as given (see {@link jsonProblem}: a Date, a
 * Map, a typed array, an array hole or a lone surrogate is refused, never converted) and
 * serializes within {@link MAX_METADATA_JSON_LENGTH}. The object itself is stored, not a copy.
 */
export const jsonObjectField = z
  .custom<Record<string, unknown>>()
  .superRefine((value, ctx) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      ctx.addIssue({ code: 'custom', message: 'must be a plain JSON object' })
      return
    }
    if (!checkJson(value, ctx)) return
    if (JSON.stringify(value).length > MAX_METADATA_JSON_LENGTH) {
      ctx.addIssue({
        code: 'custom',
        message: `must be at most ${MAX_METADATA_JSON_LENGTH} characters as JSON`,
      })
    }
  })
  // The query builder cannot take an object without a prototype as a column value; the
  // same keys and values in a plain object are the same JSON.
  .transform((value) => (Object.getPrototypeOf(value) === null ? { ...value } : value))

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
