import { defineConfig } from 'tsup'

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'schema/index': 'src/schema/index.ts',
    'cache/index': 'src/cache/index.ts',
    'storage/index': 'src/storage/index.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  splitting: true,
  treeshake: true,
  // import.meta.url in the CJS build: the shipped migrations are found from it.
  shims: true,
})
