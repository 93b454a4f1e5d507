// The import rules of src/, checked by `npm test` (test/architecture/imports.test.ts).
// Layers, lowest first: a module may import its own layer and the layers below, never above.
// Type-only imports count: a type cycle is still a cycle for a reader.
const LAYERS = [
  { name: 'base', path: '^src/(errors\\.ts|util/)' },
  { name: 'schema', path: '^src/schema/' },
  { name: 'tokens', path: '^src/tokens/' },
  { name: 'drivers', path: '^src/(db|cache|storage)/' },
  { name: 'repositories', path: '^src/repositories/' },
  { name: 'attachments', path: '^src/attachments/' },
  { name: 'live', path: '^src/live/' },
  { name: 'vector', path: '^src/vector/' },
  { name: 'embedding', path: '^src/embedding/' },
  { name: 'memory', path: '^src/memory/' },
  { name: 'context', path: '^src/context/' },
  { name: 'ops', path: '^src/ops/' },
  { name: 'composition', path: '^src/(config|extensions|data-layer)/' },
  { name: 'entries', path: '^src/(cli/|testing/|index\\.ts$)' },
]

const upward = LAYERS.slice(0, -1).map((layer, index) => ({
  name: `${layer.name}-imports-upward`,
  comment: `${layer.name} may import only ${LAYERS.slice(0, index + 1)
    .map((l) => l.name)
    .join(', ')}`,
  severity: 'error',
  from: { path: layer.path },
  to: { path: LAYERS.slice(index + 1).map((l) => l.path) },
}))

// The drivers stand side by side: the database, the cache and the blob store know nothing
// of each other.
const DRIVERS = ['db', 'cache', 'storage']
const sideways = DRIVERS.map((driver) => ({
  name: `${driver}-imports-another-driver`,
  severity: 'error',
  from: { path: `^src/${driver}/` },
  to: { path: `^src/(${DRIVERS.filter((d) => d !== driver).join('|')})/` },
}))

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'data flows one way: no module reaches itself through its imports',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    ...upward,
    ...sideways,
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      from: { path: '^src/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)node_modules/' },
    // ESM-only packages (file-type) export under `default` and `types` alone.
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
    },
  },
}
