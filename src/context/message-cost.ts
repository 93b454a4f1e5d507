import type { RepositoryContext } from '../repositories/repository-context.js'
import { uiMessageOf } from '../repositories/ui-message-of.js'
import type { ChatMessage } from '../schema/chat-messages.js'
import { toUIMessage } from '../schema/ui-messages.js'
import { countMessageTokens } from '../tokens/message-tokens.js'
import type { TokenCounter } from '../tokens/token-counter.js'

/** A message as the AI SDK's `UIMessage` (what `messages.loadUIMessages` returns). */
export type ContextUIMessage = ReturnType<typeof toUIMessage>

/** How a message is costed. @internal */
export interface CostRules {
  readonly counter: TokenCounter
  readonly messageOverheadTokens: number
  readonly fileTokens: number
}

/**
 * What a message costs in a context: its stored count when the same counter made it (else
 * counted now), the per-message overhead, and `fileTokens` for each file part.
 * @internal
 */
export function messageCost(row: ChatMessage, rules: CostRules): number {
  const counted =
    row.tokenCounter === rules.counter.name && row.tokens !== null
      ? row.tokens
      : countMessageTokens(row, rules.counter).total
  const files = (row.parts ?? []).filter((part) => part.type === 'file').length
  return counted + rules.messageOverheadTokens + files * rules.fileTokens
}

/** Rows as UI messages, with the URLs of their attachments when the layer has blobs. @internal */
export async function uiMessagesOfRows(
  context: RepositoryContext,
  rows: readonly ChatMessage[],
): Promise<ContextUIMessage[]> {
  const messages = rows.map(uiMessageOf)
  const ids = messages.flatMap((message) =>
    message.parts.flatMap((part) =>
      part.type === 'file' && part.attachmentId !== undefined ? [part.attachmentId] : [],
    ),
  )
  const urls = ids.length > 0 && context.fileUrls ? await context.fileUrls(ids) : undefined
  return messages.map((message) => toUIMessage(message, urls))
}
