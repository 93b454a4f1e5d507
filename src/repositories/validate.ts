import type { z } from 'zod'
import { ValidationError } from '../errors.js'
import { clip } from '../util/clip.js'
import { formatPath } from '../util/format-path.js'

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
      message: issueMessage(issue),
    })),
  )
}

/**
 * Validates every item of a batch before any is written; a failure names the item's
 * index in each path (`[3].email`).
 * @internal
 */
export function validateEach<S extends z.ZodType>(
  schema: S,
  inputs: unknown,
  context: string,
  firstIndex = 0,
): z.output<S>[] {
  if (!Array.isArray(inputs))
    throw new ValidationError(context, [{ path: '', message: 'must be an array' }])
  return inputs.map((input, offset) => {
    const index = firstIndex + offset
    const result = schema.safeParse(input)
    if (result.success) return result.data
    throw new ValidationError(
      `${context}: item ${index} is invalid`,
      result.error.issues.map((issue) => ({
        path: formatPath([index, ...issue.path]),
        message: issueMessage(issue),
      })),
    )
  })
}

function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code !== 'unrecognized_keys') return issue.message
  const shown = issue.keys.slice(0, 5).map((key) => clip(key))
  const more =
    issue.keys.length > shown.length ? ` and ${issue.keys.length - shown.length} more` : ''
  return `unknown field(s) ${shown.join(', ')}${more}`
}
