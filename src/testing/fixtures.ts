import { v4 as uuidv4 } from 'uuid'
import type { DataLayer } from '../data-layer/types.js'
import type { ChatMessage, NewChatMessage } from '../schema/chat-messages.js'
import type { NewChatVector } from '../schema/chat-vectors.js'
import type { Chat, NewChat } from '../schema/chats.js'
import type { NewUser, User } from '../schema/users.js'
import { seededNormal, seededRandom } from './synthetic-vectors.js'

/** A vector row as the `vector` fixture stored it. */
export type VectorFixture = Required<
  Pick<NewChatVector, 'id' | 'userId' | 'chunkIndex' | 'content' | 'embedding' | 'metadata'>
> & { readonly chatId: string | null; readonly messageId: string | null }

/**
 * Factories of valid rows, stored through the data layer's repositories (so they pass
 * the same validation as application writes). Every value not overridden comes from one
 * seeded generator: the same seed and the same calls give the same ids, emails, texts and
 * embeddings on every machine.
 */
export interface Fixtures {
  /** The seed the sequence started from. */
  readonly seed: number
  /** A unit-length embedding of the data layer's dimension, from the seeded generator. */
  embedding(): number[]
  /** A UUID (version 4 layout) from the seeded generator. */
  uuid(): string
  /** Stores a user: a unique email `user-<n>-<hex>@example.test`, first and last name. */
  user(overrides?: Partial<NewUser>): Promise<User>
  /** Stores a chat; without `userId`, for a new user. */
  chat(overrides?: Partial<NewChat>): Promise<Chat>
  /** Stores a message (role `user`, a short sentence); without `chatId`, in a new chat. */
  message(overrides?: Partial<NewChatMessage>): Promise<ChatMessage>
  /**
   * Stores one embedded chunk (chunk 0, the message's text, a seeded embedding); without
   * `messageId`, of a new message. `userId` and `chatId` are the message's chat's unless given.
   */
  vector(overrides?: Partial<NewChatVector>): Promise<VectorFixture>
  /** Starts the sequence again from the seed (after `reset()` of a test data layer). */
  restart(): void
}

const WORDS = [
  'apple',
  'harbor',
  'violet',
  'engine',
  'meadow',
  'signal',
  'copper',
  'lantern',
  'river',
  'quartz',
  'window',
  'orbit',
  'garden',
  'thunder',
  'pencil',
  'summit',
]

/**
 * Fixture factories over a data layer (or a transaction's repositories), deterministic
 * under `seed` (default 1).
 *
 * @example
 * ```ts
 * const fixtures = createFixtures(data, { seed: 7 })
 * const message = await fixtures.message({ content: 'hello' })   // with its chat and user
 * const hit = await fixtures.vector({ messageId: message.id })
 * ```
 */
export function createFixtures(
  data: Pick<DataLayer, 'users' | 'chats' | 'messages' | 'vectors' | 'embeddingDimensions'>,
  options: { seed?: number } = {},
): Fixtures {
  const seed = options.seed ?? 1
  let random = seededRandom(seed)
  let normal = seededNormal(random)
  let counter = 0
  const bytes = (length: number) => Uint8Array.from({ length }, () => Math.floor(random() * 256))
  const hex = (length: number) => Buffer.from(bytes(length)).toString('hex')
  const pickWord = () => WORDS[Math.floor(random() * WORDS.length)]!
  const sentence = (words: number) => Array.from({ length: words }, pickWord).join(' ')
  const capitalized = () => {
    const word = pickWord()
    return word[0]!.toUpperCase() + word.slice(1)
  }

  const fixtures: Fixtures = {
    seed,
    embedding() {
      const values: number[] = []
      let sum = 0
      for (let i = 0; i < data.embeddingDimensions; i++) {
        // Standard normal coordinates: directions uniform on the sphere.
        const x = normal()
        values.push(x)
        sum += x * x
      }
      const norm = Math.sqrt(sum) || 1
      return values.map((x) => x / norm)
    },
    uuid() {
      return uuidv4({ random: bytes(16) })
    },
    async user(overrides = {}) {
      counter += 1
      return data.users.create({
        id: fixtures.uuid(),
        email: `user-${counter}-${hex(3)}@example.test`,
        firstName: capitalized(),
        lastName: capitalized(),
        ...overrides,
      })
    },
    async chat(overrides = {}) {
      const userId = overrides.userId ?? (await fixtures.user()).id
      return data.chats.create({
        id: fixtures.uuid(),
        title: `About ${sentence(2)}`,
        ...overrides,
        userId,
      })
    },
    async message(overrides = {}) {
      const chatId = overrides.chatId ?? (await fixtures.chat()).id
      return data.messages.create({
        id: fixtures.uuid(),
        role: 'user',
        content: `${capitalized()} ${sentence(7)}.`,
        metadata: {},
        ...overrides,
        chatId,
      })
    },
    async vector(overrides = {}) {
      let { messageId, chatId, userId, content } = overrides
      if (messageId === undefined) {
        const message = await fixtures.message(chatId ? { chatId } : {})
        messageId = message.id
        chatId ??= message.chatId
        content ??= message.content
      } else if (messageId !== null && (chatId === undefined || content === undefined)) {
        const message = await data.messages.findById(messageId)
        if (!message) throw new Error(`fixtures.vector: message ${messageId} does not exist`)
        chatId ??= message.chatId
        content ??= message.content
      }
      if (userId === undefined) {
        if (!chatId) throw new Error('fixtures.vector: give userId, chatId or messageId')
        userId = (await data.chats.findById(chatId))?.userId
        if (!userId) throw new Error(`fixtures.vector: chat ${chatId} does not exist`)
      }
      const row = {
        id: fixtures.uuid(),
        chunkIndex: 0,
        content: content ?? sentence(8),
        embedding: fixtures.embedding(),
        metadata: {},
        ...overrides,
        userId,
        chatId: chatId ?? null,
        messageId: messageId ?? null,
      }
      await data.vectors.upsert([row])
      return row as VectorFixture
    },
    restart() {
      random = seededRandom(seed)
      normal = seededNormal(random)
      counter = 0
    },
  }
  return fixtures
}
