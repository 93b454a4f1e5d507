import type { z } from 'zod'
import { ValidationError } from '../errors.js'
import { clip } from '../util/clip.js'
import { formatPath } from '../util/format-path.js'
import { assertUuid } from '../util/is-uuid.js'

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

const ID_MEANINGS = { userId: 'the id of a user', chatId: 'the id of a chat' } as const

/**
 * The start of a tenant-scoped call: refuses it after close (`CLOSED`), validates `input`
 * (`VALIDATION`), and checks that its `userId` (and `chatId`, when the schema has one) are
 * UUIDs before any query runs.
 * @internal
 */
export function validateScoped<S extends z.ZodType<{ userId: string; chatId?: string }>>(
  context: { assertUsable: (operation: string) => void },
  schema: S,
  input: unknown,
  operation: string,
): z.output<S> {
  context.assertUsable(operation)
  const wanted = validate(schema, input, operation)
  for (const key of ['chatId', 'userId'] as const) {
    const value = (wanted as { chatId?: string; userId: string })[key]
    if (key === 'userId' || value !== undefined) assertUuid(value, operation, key, ID_MEANINGS[key])
  }
  return wanted
}
