import type { ChatMessage, MessageStatus } from '../schema/chat-messages.js'
import { type StoredUIMessage, toUIMessage } from '../schema/ui-messages.js'
import { uiMessageOf } from './ui-message-of.js'

/**
 * Largest event published with its message, as JSON; a bigger one goes out without it
 * (`message` absent).
 */
export const MAX_EVENT_MESSAGE_CHARS = 64 * 1024

/** A message of the AI SDK's `UIMessage` shape, as an event carries it. */
export type EventMessage = ReturnType<typeof toUIMessage>

/** What happened to a message of a chat, published after the write committed. */
export interface ChatMessageEvent {
  /**
   * `message-added`: a new message (a streamed reply starts as one, `streaming`);
   * `message-updated`: its parts changed (a reply's flush, a message saved again);
   * `message-finished`: a reply ended (`complete`, `aborted` or `interrupted`).
   */
  readonly type: 'message-added' | 'message-updated' | 'message-finished'
  readonly chatId: string
  /** The id the AI SDK knows (client id, else row id). */
  readonly messageId: string
  readonly status: MessageStatus
  /** The message's place in its chat (null for a message of an older release). */
  readonly seq: number | null
  /**
   * The message as a `UIMessage`, when the event is at most 64 KiB as JSON (else load it). File parts
   * of attachments carry a `stratum-attachment:` reference, not a URL.
   */
  readonly message?: EventMessage
  /** When the event was published (ISO 8601): of two events of one message, the later wins. */
  readonly at: string
}

/** The chat now shows another branch (`messages.switchBranch`): reload its messages. */
export interface ChatBranchEvent {
  readonly type: 'branch-switched'
  readonly chatId: string
  /** Row id of the chat's new active (last shown) message. */
  readonly activeMessageId: string
  readonly at: string
}

/** Someone is in the chat (`present`) or typing in it, until `expiresAt`; or no longer. */
export interface ChatPresenceEvent {
  readonly type: 'presence' | 'typing'
  readonly chatId: string
  readonly member: string
  /** True while the member is there (or typing); false once they left (or stopped). */
  readonly active: boolean
  /** When the entry lapses unless refreshed first (ISO 8601); absent when `active` is false. */
  readonly expiresAt?: string
  readonly at: string
}

/**
 * Events may have been missed (the connection to the backend dropped and came back): reload
 * what the client shows. Given to watchers only, never published.
 */
export interface ChatResetEvent {
  readonly type: 'reset'
  readonly chatId: string
  readonly at: string
}

/** Everything `data.live.watch` delivers about a chat. */
export type ChatEvent = ChatMessageEvent | ChatBranchEvent | ChatPresenceEvent | ChatResetEvent

/**
 * The event of a message write: the row's ids, status and place, and the message itself
 * (`stored` when the caller has it already, else read from the row); the publisher leaves
 * the message out of an event larger than {@link MAX_EVENT_MESSAGE_CHARS}.
 * @internal
 */
export function messageEvent(
  type: ChatMessageEvent['type'],
  row: Pick<ChatMessage, 'id' | 'chatId' | 'clientId' | 'status' | 'seq'> & Partial<ChatMessage>,
  stored?: StoredUIMessage,
): ChatMessageEvent {
  const source =
    stored ??
    (row.role && row.role !== 'tool' && row.content !== undefined
      ? uiMessageOf(row as ChatMessage)
      : undefined)
  return {
    type,
    chatId: row.chatId,
    messageId: row.clientId ?? row.id,
    status: row.status,
    seq: row.seq ?? null,
    ...(source ? { message: toUIMessage(source) } : {}),
    at: new Date().toISOString(),
  }
}
