/**
 * Cache keys of the core tables, shared by the repositories that write one table and
 * invalidate another (a message append bumps its chat; a user delete cascades).
 * `Repository.entityKey` builds the same shape for any table.
 * @internal
 */
export const entityKey = (table: string, id: unknown): string =>
  `e:${table}:${encodeURIComponent(String(id))}`

/** @internal */
export const chatEntityKey = (id: string): string => entityKey('chats', id)

/** @internal */
export const messageEntityKey = (id: string): string => entityKey('chat_messages', id)

/** The email -> user id pointer of `users.findByEmail`. @internal */
export const emailKey = (normalizedEmail: string): string =>
  `u:users:email:${encodeURIComponent(normalizedEmail)}`

/** The group of a user's chat list pages. @internal */
export const chatsOfUserKey = (userId: string): string =>
  `o:chats:user:${encodeURIComponent(userId)}`

/** The group of a chat's message list pages. @internal */
export const messagesOfChatKey = (chatId: string): string =>
  `o:chat_messages:chat:${encodeURIComponent(chatId)}`

/** A user's current long-term memories (`data.memory.list`). @internal */
export const memoriesOfUserKey = (userId: string): string =>
  `o:user_memories:user:${encodeURIComponent(userId)}`
