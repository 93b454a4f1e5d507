import { uuid } from 'drizzle-orm/pg-core'
import { v7 as uuidv7 } from 'uuid'

/**
 * The `id` primary key of the library's tables: a UUIDv7 made in the process (time-ordered,
 * so new rows land at the right of the index), `gen_random_uuid()` for rows inserted by SQL.
 */
export const uuidV7Id = () =>
  uuid('id')
    .primaryKey()
    .defaultRandom()
    .$defaultFn(() => uuidv7())
