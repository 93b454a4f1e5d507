import { ValidationError } from '../errors.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** Whether `value` is a UUID string (any version), as a `uuid` column takes it. */
export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value)
}

/**
 * `VALIDATION` on `path` unless `value` is a UUID string: an id checked before any I/O.
 * `what` names it in the message ("the id of a chat").
 */
export function assertUuid(
  value: unknown,
  context: string,
  path: string,
  what: string,
): asserts value is string {
  if (!isUuid(value))
    throw new ValidationError(context, [{ path, message: `must be ${what} (a UUID)` }])
}
