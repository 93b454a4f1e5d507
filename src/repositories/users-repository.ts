import { eq, type SQL, sql } from 'drizzle-orm'
import { emailField } from '../schema/fields.js'
import { type User, users } from '../schema/users.js'
import { Repository } from './repository.js'
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
  /** The user with this email (any case), or null. */
  async findByEmail(email: string): Promise<User | null> {
    const normalized = validate(emailField, email, 'users.findByEmail')
    // lower(email) matches the unique index users_email_lower_key.
    return this.readOne(
      'findByEmail',
      (executor, key) =>
        executor
          .select()
          .from(users)
          .where(eq(sql`lower(${users.email})`, key)),
      normalized,
    )
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
      return rows[0]
    })
  }
}
