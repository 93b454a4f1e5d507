/** How many characters of a caller's text an error message may repeat. */
export const MAX_ECHOED_CHARACTERS = 64

/**
 * The first {@link MAX_ECHOED_CHARACTERS} characters of `text`, with the length of the
 * rest, so an error message about a hostile 1 MB field name stays short.
 * @internal
 */
export function clip(text: string, max = MAX_ECHOED_CHARACTERS): string {
  if (text.length <= max) return text
  return `${text.slice(0, max)}…(${text.length - max} more characters)`
}
