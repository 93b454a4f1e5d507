import type { ChatMessage } from '../schema/chat-messages.js'

/** A message of the unsummarised tail with its cost. @internal */
export interface CostedMessage {
  readonly row: Pick<ChatMessage, 'role' | 'status'>
  readonly tokens: number
}

/**
 * How many of the oldest messages of the unsummarised tail (oldest first) one refresh folds
 * into the summary. It leaves out, word for word, the newest messages that fit in
 * `keepRecent` tokens and always the current turn (from the last user message), so the kept
 * messages begin with a user message; it stops before a reply still streaming, and takes at
 * most `maxInput` tokens (but always a whole first turn). What it folds always ends before a user
 * message, so the messages after it begin a turn. 0 when there is nothing to fold.
 * @internal
 */
export function chooseFold(
  tail: readonly CostedMessage[],
  limits: { keepRecent: number; maxInput: number },
): number {
  const lastUser = tail.findLastIndex(({ row }) => row.role === 'user')
  if (lastUser <= 0) return 0
  let keepStart = tail.length
  let kept = 0
  while (keepStart > 0 && kept + tail[keepStart - 1]!.tokens <= limits.keepRecent) {
    kept += tail[--keepStart]!.tokens
  }
  keepStart = Math.min(keepStart, lastUser)
  while (keepStart > 0 && tail[keepStart]!.row.role !== 'user') keepStart--
  const streaming = tail.findIndex(({ row }) => row.status === 'streaming')
  const limit = streaming === -1 ? keepStart : Math.min(keepStart, streaming)
  let n = 0
  let sum = 0
  while (n < limit && (n === 0 || sum + tail[n]!.tokens <= limits.maxInput)) {
    sum += tail[n++]!.tokens
  }
  if (n < keepStart) {
    // Cut short (by maxInput or a streaming reply): end before the last user message reached.
    for (let k = n; k >= 1; k--) {
      if (tail[k]!.row.role === 'user') return k
    }
    // A first turn longer than maxInput is folded whole, or the summary would stall on it.
    for (let k = 1; k <= limit; k++) {
      if (tail[k]!.row.role === 'user') return k
    }
    return 0
  }
  return n
}
