import type { MessagePart } from '../schema/message-parts.js'
import { countMessageTokens } from '../tokens/message-tokens.js'
import type { TokenCounter } from '../tokens/token-counter.js'

/** What a message's counts are made from. */
export interface TokenSource {
  readonly parts?: readonly MessagePart[] | null
  readonly content?: string
}

/** The token columns of a message row (`tokens`, `partTokens`, `tokenCounter`). */
export function tokenColumns(source: TokenSource, counter: TokenCounter) {
  const counted = countMessageTokens(
    { parts: source.parts, content: source.content ?? '' },
    counter,
  )
  return { tokens: counted.total, partTokens: counted.parts, tokenCounter: counted.counter }
}
