import { defineConfig } from 'drizzle-kit'

// Only this package's tables: the core tables it references are created by stratum-data's
// own migrations, which run first.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/schema.ts',
  out: './drizzle',
  migrations: { table: 'notes_migrations' },
})
