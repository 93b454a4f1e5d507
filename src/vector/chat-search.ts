import { and, eq, inArray, isNull } from 'drizzle-orm'
import { z } from 'zod'
import type { Executor } from '../db/connection.js'
import { validate } from '../repositories/validate.js'
import { type Chat, chats } from '../schema/chats.js'
import type { HybridSearchHit, HybridSearchOptions } from './vector-types.js'

/** Options of `vectors.searchChats`. */
export interface ChatSearchOptions {
  /** Whose chats to search: required, a search never crosses users. */
  userId: string
  /** The words to look for (web search syntax), matched by full-text search. */
  text: string
  /** The embedding of the same query, matched by vector search. */
  embedding: number[]
  /** How many chats to return (default 10, at most 100). */
  limit?: number
  /** Matching chunks kept per chat (default 3, at most 20), best first. */
  matchesPerChat?: number
  /** Archived chats too (default false). Deleted chats are never returned. */
  includeArchived?: boolean
}

/** One chat found by `vectors.searchChats`, with its best matching chunks. */
export interface ChatSearchResult {
  readonly chat: Chat
  /** Its best chunk's fused score: the chats are ordered by it. */
  readonly score: number
  readonly matches: readonly HybridSearchHit[]
}

const optionsSchema = z
  .object({
    userId: z.uuid(),
    text: z.string(),
    embedding: z.unknown(),
    limit: z.number().int().min(1).max(100).optional(),
    matchesPerChat: z.number().int().min(1).max(20).optional(),
    includeArchived: z.boolean().optional(),
  })
  .strict()

/**
 * A user's chats ranked by how well their messages match a query, by text and by meaning:
 * the hybrid search of the user's chunks (five candidates per wanted chat, at most 1,000),
 * grouped by chat, each chat scored by its best chunk; chats deleted (and, unless asked,
 * archived) are left out, and every chat is checked to be the user's.
 * @internal
 */
export async function searchChats(
  options: ChatSearchOptions,
  hybridSearch: (options: HybridSearchOptions) => Promise<HybridSearchHit[]>,
  read: <T>(fn: (executor: Executor) => Promise<T>) => Promise<T>,
): Promise<ChatSearchResult[]> {
  const wanted = validate(optionsSchema, options, 'chat_vectors.searchChats')
  const limit = wanted.limit ?? 10
  const perChat = wanted.matchesPerChat ?? 3
  const hits = await hybridSearch({
    userId: wanted.userId,
    text: wanted.text,
    embedding: options.embedding,
    limit: Math.min(1000, limit * 5),
  })
  const byChat = new Map<string, HybridSearchHit[]>()
  for (const hit of hits) {
    if (!hit.chatId) continue
    const list = byChat.get(hit.chatId) ?? []
    list.push(hit)
    byChat.set(hit.chatId, list)
  }
  if (byChat.size === 0) return []
  const found = await read((executor) =>
    executor
      .select()
      .from(chats)
      .where(
        and(
          inArray(chats.id, [...byChat.keys()]),
          eq(chats.userId, wanted.userId),
          isNull(chats.deletedAt),
          wanted.includeArchived ? undefined : isNull(chats.archivedAt),
        ),
      ),
  )
  return found
    .map((chat) => {
      const matches = byChat.get(chat.id)!
      return { chat, score: matches[0]!.score, matches: matches.slice(0, perChat) }
    })
    .sort((a, b) => b.score - a.score || a.chat.id.localeCompare(b.chat.id))
    .slice(0, limit)
}
