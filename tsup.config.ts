import { defineConfig } from 'tsup'

const shared = {
  dts: true,
  sourcemap: true,
  target: 'node22',
  splitting: true,
  treeshake: true,
  // import.meta.url in the CJS build: the shipped migrations are found from it.
  shims: true,
} as const

export default defineConfig([
  {
    ...shared,
    entry: {
      index: 'src/index.ts',
      'schema/index': 'src/schema/index.ts',
      'cache/index': 'src/cache/index.ts',
      'storage/index': 'src/storage/index.ts',
      'testing/index': 'src/testing/index.ts',
      'testing/contracts/index': 'src/testing/contracts/index.ts',
    },
    format: ['esm', 'cjs'],
    clean: true,
    // In the CJS build, lazy imports (the S3 driver, testcontainers) become require() calls:
    // a real import() there needs --experimental-vm-modules under Jest.
    esbuildOptions(options, context) {
      if (context.format === 'cjs')
        options.supported = { ...options.supported, 'dynamic-import': false }
    },
  },
  {
    // The `stratum` binary: ESM only (it awaits at top level), no declarations.
    ...shared,
    entry: { 'cli/main': 'src/cli/main.ts' },
    format: ['esm'],
    dts: false,
    clean: false,
  },
])
