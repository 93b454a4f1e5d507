import { StratumError } from '../errors.js'
import type { ChatMessage } from '../schema/chat-messages.js'
import type { JsonObject } from '../schema/json-value.js'
import type { MessagePart } from '../schema/message-parts.js'
import type { StoredUIMessage } from '../schema/ui-messages.js'

/**
 * A stored row as a UI message: its client id when it has one, its parts or its content.
 * @internal
 */
export function uiMessageOf(row: ChatMessage): StoredUIMessage {
  if (row.role === 'tool') {
    throw new StratumError(
      'UNSUPPORTED',
      `message ${row.id} has the role 'tool', which the AI SDK's UI messages do not have`,
      { details: { table: 'chat_messages' } },
    )
  }
  const parts: MessagePart[] = row.parts ?? [{ type: 'text', text: row.content }]
  return {
    id: row.clientId ?? row.id,
    role: row.role,
    ...(Object.keys(row.metadata).length > 0 ? { metadata: row.metadata as JsonObject } : {}),
    parts,
  }
}
