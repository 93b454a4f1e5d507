import { relations } from 'drizzle-orm'
import { chatMessages } from './chat-messages.js'
import { chatVectors } from './chat-vectors.js'
import { chats } from './chats.js'
import { users } from './users.js'

/** A user has many chats and vectors. */
export const usersRelations = relations(users, ({ many }) => ({
  chats: many(chats),
  vectors: many(chatVectors),
}))

/** A chat belongs to a user and has many messages and vectors. */
export const chatsRelations = relations(chats, ({ one, many }) => ({
  user: one(users, { fields: [chats.userId], references: [users.id] }),
  messages: many(chatMessages),
  vectors: many(chatVectors),
}))

/** A message belongs to a chat and has many vector chunks. */
export const chatMessagesRelations = relations(chatMessages, ({ one, many }) => ({
  chat: one(chats, { fields: [chatMessages.chatId], references: [chats.id] }),
  vectors: many(chatVectors),
}))

/** A vector chunk belongs to a user, and optionally a chat and a message. */
export const chatVectorsRelations = relations(chatVectors, ({ one }) => ({
  user: one(users, { fields: [chatVectors.userId], references: [users.id] }),
  chat: one(chats, { fields: [chatVectors.chatId], references: [chats.id] }),
  message: one(chatMessages, { fields: [chatVectors.messageId], references: [chatMessages.id] }),
}))
