import { randomBytes } from 'node:crypto'

/**
 * A new random fence token (96 bits): no old token can ever match it.
 * @internal
 */
export function newFenceToken(): string {
  return randomBytes(12).toString('base64url')
}
