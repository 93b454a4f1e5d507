import type { Page, Repository } from 'stratum-data'
import type { NewNote, Note, notes } from './schema.js'

/** Notes of users: validated writes, cached reads by id, newest-first pages per user. */
export class NotesRepository {
  readonly #rows: Repository<typeof notes>

  constructor(rows: Repository<typeof notes>) {
    this.#rows = rows
  }

  /** Stores a note; a bad title or body is `VALIDATION`, an unknown user or chat `NOT_FOUND`. */
  create(input: NewNote): Promise<Note> {
    return this.#rows.create(input)
  }

  /** The note, or null. Cached (the extension's cache setting) and never stale after a write. */
  findById(id: string): Promise<Note | null> {
    return this.#rows.findById(id)
  }

  /** A user's notes, pinned first, then newest first. */
  listByUser(
    userId: string,
    options: { cursor?: string | null; limit?: number } = {},
  ): Promise<Page<Note>> {
    return this.#rows.findPage({
      where: { userId },
      orderBy: { pinned: 'desc', createdAt: 'desc', id: 'desc' },
      ...options,
    })
  }

  /** Changes title, body, chat or pin; `NOT_FOUND` when there is no such note. */
  update(id: string, patch: Partial<Omit<NewNote, 'userId'>>): Promise<Note> {
    return this.#rows.update(id, patch)
  }

  /** Pins (or unpins) a note. */
  pin(id: string, pinned = true): Promise<Note> {
    return this.#rows.update(id, { pinned })
  }

  /** Deletes a note; false when there was none. */
  delete(id: string): Promise<boolean> {
    return this.#rows.delete(id)
  }
}
