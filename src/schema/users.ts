import { sql } from 'drizzle-orm'
import { boolean, pgTable, timestamp, uniqueIndex, varchar } from 'drizzle-orm/pg-core'
import { createInsertSchema, createSelectSchema, createUpdateSchema } from 'drizzle-zod'
import { emailField, textField } from './fields.js'
import { uuidV7Id } from './id-column.js'

/**
 * Application users. Emails are unique regardless of case (a unique index on
 * `lower(email)`), and stored trimmed and lower-cased.
 */
export const users = pgTable(
  'users',
  {
    id: uuidV7Id(),
    email: varchar('email', { length: 255 }).notNull(),
    emailVerified: boolean('email_verified').notNull().default(false),
    firstName: varchar('first_name', { length: 255 }),
    lastName: varchar('last_name', { length: 255 }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true })
      .notNull()
      .defaultNow()
      .$onUpdate(() => sql`now()`),
    lastLogin: timestamp('last_login', { withTimezone: true }),
  },
  (t) => [uniqueIndex('users_email_lower_key').on(sql`lower(${t.email})`)],
)

const refinements = {
  email: () => emailField,
  firstName: () => textField(255).nullable(),
  lastName: () => textField(255).nullable(),
}

/** Validates a new user (`id` optional; timestamps are set by the database). */
export const userInsertSchema = createInsertSchema(users, refinements)
  .omit({ createdAt: true, updatedAt: true })
  .strict()
/** Validates a partial update of a user. */
export const userUpdateSchema = createUpdateSchema(users, refinements)
  .omit({ id: true, createdAt: true, updatedAt: true })
  .strict()
/** Describes a user row as read from the database. */
export const userSelectSchema = createSelectSchema(users)

/** A user row. */
export type User = typeof users.$inferSelect
/** What `users.create` accepts. */
export type NewUser = typeof users.$inferInsert
