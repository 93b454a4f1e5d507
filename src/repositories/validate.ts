import type { z } from 'zod'
import { ValidationError } from '../errors.js'

/**
 * Parses `input` with `schema`; on failure throws `VALIDATION` listing each field path.
 * Values are not echoed in the message.
 * @internal
 */
export function validate<S extends z.ZodType>(
  schema: S,
  input: unknown,
  context: string,
): z.output<S> {
  const result = schema.safeParse(input)
  if (result.success) return result.data
  throw new ValidationError(
    context,
    result.error.issues.map((issue) => ({
      path: formatPath(issue.path),
      message:
        issue.code === 'unrecognized_keys'
          ? `unknown field(s) ${issue.keys.join(', ')}`
          : issue.message,
    })),
  )
}

/**
 * `['items', 0, 'embedding', 3]` -> `items[0].embedding[3]`.
 * @internal
 */
export function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
    .join('')
    .replace(/^\./, '')
}
