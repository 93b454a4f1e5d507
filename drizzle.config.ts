import { defineConfig } from 'drizzle-kit'

// Migrations are generated from the schema; the embedding dimension stays a placeholder
// in them (see src/schema/embedding-column.ts) and is filled in when they are applied.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/schema/index.ts',
  out: './drizzle',
})
