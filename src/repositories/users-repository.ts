import { eq, type SQL, sql } from 'drizzle-orm'
import type { Executor } from '../db/connection.js'
import { StratumError } from '../errors.js'
import { chatMessages } from '../schema/chat-messages.js'
import { chats } from '../schema/chats.js'
import { emailField, uuidField } from '../schema/fields.js'
import { type NewUser, type User, users } from '../schema/users.js'
import {
  chatEntityKey,
  chatsOfUserKey,
  emailKey,
  messageEntityKey,
  messagesOfChatKey,
} from './cache-keys.js'
import type { ErasureReport } from './erase-user.js'
import { Repository } from './repository.js'
import type { ReadOptions, UpsertOptions } from './repository-types.js'
import { validate } from './validate.js'

/**
 * Users, with lookups by email (case-insensitive) and login bookkeeping.
 *
 * @example
 * ```ts
 * const ada = await data.users.create({ email: 'Ada@Example.com', firstName: 'Ada' })
 * await data.users.findByEmail('ada@example.com') // the same row; emails are stored lower-cased
 * ```
 */
export class UsersRepository extends Repository<typeof users> {
  /**
   * Erases the user everywhere, the right to be forgotten in one call: the user's rows
   * (chats, messages and vectors cascade) in one transaction, every cache key that named
   * them, their sessions, and the blobs under the user's prefixes (`erasure.blobPrefixes`,
   * default `users/{userId}/`). Returns what it removed; safe to run again after a failure.
   * Not available inside `data.transaction()` (it runs its own).
   *
   * @example
   * ```ts
   * const report = await data.users.erase(user.id)
   * // { rows: { users: 1, chats: 3, messages: 120, vectors: 120, attachments: 4 }, sessions: 2, blobs: [...] }
   * ```
   */
  async erase(userId: string): Promise<ErasureReport> {
    this.context.assertUsable('users.erase')
    const id = validate(uuidField, userId, 'users.erase')
    const erase = this.context.eraseUser
    if (!erase)
      throw new StratumError(
        'TRANSACTION_MISUSE',
        'users.erase runs in a transaction of its own: call it on data.users, outside data.transaction()',
      )
    return erase(id)
  }

  /** The user with this email (any case), or null. */
  async findByEmail(email: string, options?: ReadOptions): Promise<User | null> {
    if (options !== undefined)
      return this.withConsistency(options, 'findByEmail', () => this.findByEmail(email))
    const normalized = validate(emailField, email, 'users.findByEmail')
    // lower(email) matches the unique index users_email_lower_key.
    const read = () =>
      this.readOne(
        'findByEmail',
        (executor, key) =>
          executor
            .select()
            .from(users)
            .where(eq(sql`lower(${users.email})`, key)),
        normalized,
      )
    // The cache maps the email to the user's id, and the row comes from the id's entry,
    // so an email change needs no knowledge of the old address: a pointer whose row no
    // longer has the email is dropped and read again.
    const cache = this.context.cache
    if (!cache || !this.context.cachePolicy(this.definition.name, 'findByEmail')) return read()
    const pointer = emailKey(normalized)
    const id = await this.readThrough(
      'findByEmail',
      pointer,
      async () => (await read())?.id ?? null,
    )
    if (id === null) return null
    const row = await this.findById(id)
    if (row?.email === normalized) return row
    await cache.invalidate([pointer])
    return read()
  }

  /**
   * Like {@link Repository.upsert}; `target: ['email']` resolves conflicts on the email in
   * any case (the unique index is on `lower(email)`, which `ON CONFLICT` cannot name as a
   * column): the row with that email is updated, or a new one inserted, in one transaction.
   */
  override async upsert(input: NewUser, options: UpsertOptions<User> = {}): Promise<User> {
    const target = options.target
    if (!(Array.isArray(target) && target.length === 1 && target[0] === 'email'))
      return super.upsert(input, options)
    const values = validate(this.definition.insertSchema, input, 'users.upsert') as NewUser
    const { id: _id, email, ...changes } = values
    const set = Object.keys(changes).length > 0 ? changes : { email }
    return this.run('upsert', () =>
      this.context.transaction(async (tx) => {
        // A concurrent insert of the same email makes the insert do nothing and the next
        // update find the row; an id that another user's row holds never resolves.
        for (let attempt = 0; attempt < 3; attempt++) {
          const updated = await tx.executor
            .update(users)
            .set(set)
            .where(eq(sql`lower(${users.email})`, email))
            .returning()
          const inserted =
            updated.length > 0
              ? updated
              : await tx.executor.insert(users).values(values).onConflictDoNothing().returning()
          if (inserted[0]) {
            await this.written(inserted, tx)
            return inserted[0]
          }
        }
        throw new StratumError(
          'CONFLICT',
          'users.upsert: the id given already belongs to a user with another email',
          { details: { table: 'users', constraint: 'users_pkey' } },
        )
      }),
    )
  }

  protected override cacheKeysOf(row: User): string[] {
    return [...super.cacheKeysOf(row), emailKey(row.email)]
  }

  protected override async cascadeKeys(executor: Executor, id: string): Promise<string[]> {
    const owned = await executor
      .select({ chatId: chats.id, messageId: chatMessages.id })
      .from(chats)
      .leftJoin(chatMessages, eq(chatMessages.chatId, chats.id))
      .where(eq(chats.userId, id))
    return [
      chatsOfUserKey(id),
      ...new Set(owned.flatMap((o) => [chatEntityKey(o.chatId), messagesOfChatKey(o.chatId)])),
      ...owned.flatMap((o) => (o.messageId ? [messageEntityKey(o.messageId)] : [])),
    ]
  }

  /** Sets `last_login` to now; returns the updated user or throws `NOT_FOUND`. */
  async recordLogin(id: string): Promise<User> {
    return this.setColumns(id, { lastLogin: sql`now()` }, 'recordLogin')
  }

  /** Marks the user's email as verified; returns the updated user or throws `NOT_FOUND`. */
  async verifyEmail(id: string): Promise<User> {
    return this.setColumns(id, { emailVerified: true }, 'verifyEmail')
  }

  private setColumns(
    id: string,
    set: Partial<typeof users.$inferInsert> | { lastLogin: SQL },
    operation: string,
  ): Promise<User> {
    return this.run(operation, async (executor) => {
      const rows = await executor.update(users).set(set).where(eq(users.id, id)).returning()
      if (!rows[0]) throw this.notFound(id)
      await this.written(rows)
      return rows[0]
    })
  }
}
