import { fileURLToPath } from 'node:url'
import { defineExtension } from 'stratum-data'
import { NotesRepository } from './notes-repository.js'
import { noteInsertSchema, notes as notesTable, noteUpdateSchema } from './schema.js'

export { NotesRepository } from './notes-repository.js'
export {
  type NewNote,
  type Note,
  noteInsertSchema,
  notes as notesTable,
  noteUpdateSchema,
} from './schema.js'

/** Options of the notes extension. */
export interface NotesOptions {
  /** How long a note stays cached after a read (default 60 s; writes invalidate it at once). */
  cacheTtlMs?: number
}

/**
 * The notes extension: `createDataLayer({ extensions: [notes()] })` adds the `notes` table
 * (migrations in this package's `drizzle/` folder, recorded in `notes_migrations`) and
 * `data.ext.notes`.
 */
export function notes(options: NotesOptions = {}) {
  return defineExtension({
    name: 'notes',
    migrations: {
      // drizzle/ sits beside dist/ and src/ in the package.
      folder: fileURLToPath(new URL('../drizzle', import.meta.url)),
      table: 'notes_migrations',
    },
    tables: [notesTable],
    cache: { notes: { ttlMs: options.cacheTtlMs ?? 60_000 } },
    api: (scope) =>
      new NotesRepository(
        scope.repository(notesTable, { insert: noteInsertSchema, update: noteUpdateSchema }),
      ),
  })
}
