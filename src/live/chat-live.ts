import type { Subscription } from '../cache/cache-driver.js'
import type { Coordination } from '../cache/coordination.js'
import type { Logger } from '../db/query-observer.js'
import { ValidationError } from '../errors.js'
import {
  type ChatEvent,
  type ChatPresenceEvent,
  MAX_EVENT_MESSAGE_CHARS,
} from '../repositories/chat-events.js'
import { assertUuid } from '../util/is-uuid.js'

/** How long someone counts as in a chat, and as typing, without a refresh. */
export const LIVE_DEFAULTS = Object.freeze({
  /** A client refreshes its presence every 10-15 s (a heartbeat); 30 s covers a missed one. */
  presenceTtlMs: 30_000,
  /** A client refreshes "typing" on key presses (every 2 s or so); it lapses 6 s after the last. */
  typingTtlMs: 6_000,
})

/** What `watch` takes. */
export interface WatchOptions {
  /**
   * Called with every event of the chat, in the order this process receives them. An error
   * it throws is logged (the `logger` option) and the feed goes on.
   */
  readonly onEvent: (event: ChatEvent) => void
}

/** Who is in a chat and who is typing, each until when. */
export interface ChatPresence {
  readonly present: readonly { readonly member: string; readonly expiresAt: Date }[]
  readonly typing: readonly { readonly member: string; readonly expiresAt: Date }[]
}

/** What the live state is built on. @internal */
export interface ChatLiveParts {
  readonly coordination: Coordination
  readonly logger: Logger | undefined
  readonly assertUsable: (operation: string) => void
}

/** Shortest and longest presence or typing a call may ask for. */
const MIN_TTL_MS = 100
const MAX_TTL_MS = 60 * 60 * 1000

const channelOf = (chatId: string) => `chat:${chatId}`
const SETS = { presence: 'presence:', typing: 'typing:' } as const

/**
 * Live state of chats, for a server to forward to its clients over SSE or WebSocket: a
 * change feed (`message-added`, `message-updated`, `message-finished`, `branch-switched`,
 * published by the messages repository after each write commits) and presence and typing
 * indicators that expire on their own. On Redis (single node, Sentinel, Cluster) every
 * process sees every event; on the embedded default, this process only
 * (`data.cache.coordination.scope`). Delivery is at most once, as pub/sub is: a watcher
 * gets a `reset` event when events may have been missed, and reloads.
 *
 * @example
 * ```ts
 * const watching = await data.live.watch(chatId, { onEvent: (event) => sse.send(JSON.stringify(event)) })
 * await data.live.join(chatId, user.id)       // again every 15 s while the page is open
 * await data.live.typing(chatId, user.id)     // on key presses
 * // later: await watching.close(); await data.live.leave(chatId, user.id)
 * ```
 */
export class ChatLive {
  readonly #parts: ChatLiveParts

  /** @internal */
  constructor(parts: ChatLiveParts) {
    this.#parts = parts
  }

  /** `shared` on Redis (every process), `process` on the embedded default (this one). */
  get scope(): 'shared' | 'process' {
    return this.#parts.coordination.scope
  }

  /**
   * Delivers every event of the chat to `onEvent` until the subscription is closed; resolves
   * once events are arriving.
   */
  async watch(chatId: string, options: WatchOptions): Promise<Subscription> {
    const context = 'live.watch'
    this.#parts.assertUsable(context)
    checkChatId(chatId, context)
    if (typeof options?.onEvent !== 'function')
      throw new ValidationError(context, [
        { path: 'onEvent', message: 'must be a function (event) => void' },
      ])
    const { onEvent } = options
    return this.#parts.coordination.subscribe(
      channelOf(chatId),
      (message) => {
        let event: ChatEvent
        try {
          event = JSON.parse(message) as ChatEvent
        } catch {
          return // not one of ours: another writer on the channel
        }
        this.#deliver(onEvent, event)
      },
      () => this.#deliver(onEvent, { type: 'reset', chatId, at: new Date().toISOString() }),
    )
  }

  /**
   * Marks `member` (a user or session id) as in the chat for `ttlMs` (default 30 s), and
   * tells the watchers with the new expiry. Call it again before it lapses (a heartbeat);
   * resolves to true when the member was not there before.
   */
  join(chatId: string, member: string, options: { ttlMs?: number } = {}): Promise<boolean> {
    return this.#mark(
      'presence',
      'live.join',
      chatId,
      member,
      options.ttlMs ?? LIVE_DEFAULTS.presenceTtlMs,
    )
  }

  /** Takes `member` out of the chat at once; resolves to true when they were there. */
  leave(chatId: string, member: string): Promise<boolean> {
    return this.#unmark('presence', 'live.leave', chatId, member)
  }

  /** Marks `member` as typing for `ttlMs` (default 6 s); resolves to true when they were not. */
  typing(chatId: string, member: string, options: { ttlMs?: number } = {}): Promise<boolean> {
    return this.#mark(
      'typing',
      'live.typing',
      chatId,
      member,
      options.ttlMs ?? LIVE_DEFAULTS.typingTtlMs,
    )
  }

  /** Ends `member`'s typing at once (the message was sent); resolves to true when they were. */
  stopTyping(chatId: string, member: string): Promise<boolean> {
    return this.#unmark('typing', 'live.stopTyping', chatId, member)
  }

  /** Who is in the chat and who is typing right now, each with when it lapses. */
  async presence(chatId: string): Promise<ChatPresence> {
    this.#parts.assertUsable('live.presence')
    checkChatId(chatId, 'live.presence')
    const { coordination } = this.#parts
    const [present, typing] = await Promise.all([
      coordination.members(`${SETS.presence}${chatId}`),
      coordination.members(`${SETS.typing}${chatId}`),
    ])
    return { present, typing }
  }

  /**
   * Publishes events of committed writes. Best effort: a failure (the cache backend down)
   * is logged; the write stays committed and watchers reload on their `reset`.
   * @internal
   */
  async publish(events: readonly ChatEvent[]): Promise<void> {
    // Sent at once, in order, on one connection (pipelined on Redis): a batch of appends costs
    // one round trip, not one per message.
    const results = await Promise.allSettled(
      events.map((event) =>
        this.#parts.coordination.publish(channelOf(event.chatId), eventJson(event)),
      ),
    )
    const failed = results.filter((result) => result.status === 'rejected')
    if (failed.length > 0)
      this.#parts.logger?.warn(
        { failed: failed.length, err: String((failed[0] as PromiseRejectedResult).reason) },
        'stratum-data: chat events could not be published',
      )
  }

  /** An error of the app's handler is logged: it must not stop the feed or reach the backend. */
  #deliver(onEvent: (event: ChatEvent) => void, event: ChatEvent): void {
    try {
      onEvent(event)
    } catch (error) {
      this.#parts.logger?.warn(
        { err: error instanceof Error ? error.message : String(error), event: event.type },
        'stratum-data: a live.watch handler threw; the feed goes on',
      )
    }
  }

  async #mark(
    kind: 'presence' | 'typing',
    context: string,
    chatId: string,
    member: string,
    ttlMs: number,
  ): Promise<boolean> {
    this.#parts.assertUsable(context)
    checkChatId(chatId, context)
    if (!Number.isInteger(ttlMs) || ttlMs < MIN_TTL_MS || ttlMs > MAX_TTL_MS)
      throw new ValidationError(context, [
        {
          path: 'ttlMs',
          message: `must be a whole number of milliseconds from ${MIN_TTL_MS} to ${MAX_TTL_MS}`,
        },
      ])
    const { coordination } = this.#parts
    const added = await coordination.addMember(`${SETS[kind]}${chatId}`, member, ttlMs)
    const expiresAt = new Date(Date.now() + ttlMs).toISOString()
    await this.#announce({
      type: kind,
      chatId,
      member,
      active: true,
      expiresAt,
      at: new Date().toISOString(),
    })
    return added
  }

  async #unmark(
    kind: 'presence' | 'typing',
    context: string,
    chatId: string,
    member: string,
  ): Promise<boolean> {
    this.#parts.assertUsable(context)
    checkChatId(chatId, context)
    const removed = await this.#parts.coordination.removeMember(`${SETS[kind]}${chatId}`, member)
    if (removed)
      await this.#announce({
        type: kind,
        chatId,
        member,
        active: false,
        at: new Date().toISOString(),
      })
    return removed
  }

  async #announce(event: ChatPresenceEvent): Promise<void> {
    await this.#parts.coordination.publish(channelOf(event.chatId), JSON.stringify(event))
  }
}

/** An event as JSON, serialized once: without its message when that makes it too large. */
function eventJson(event: ChatEvent): string {
  const json = JSON.stringify(event)
  if (json.length <= MAX_EVENT_MESSAGE_CHARS || !('message' in event)) return json
  const { message: _, ...rest } = event
  return JSON.stringify(rest)
}

function checkChatId(chatId: unknown, context: string): void {
  assertUuid(chatId, context, 'chatId', 'the id of a chat')
}
