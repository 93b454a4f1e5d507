import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { z } from 'zod'
import { ENV_VARIABLES } from '../../src/config/env-variables.js'
import { optionsSchema } from '../../src/config/options.js'

const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8')

interface Def {
  readonly type: string
  readonly innerType?: z.ZodType
  readonly in?: z.ZodType
  readonly shape?: Record<string, z.ZodType>
  readonly options?: readonly z.ZodType[]
  readonly defaultValue?: unknown
}
const defOf = (schema: z.ZodType) => (schema as unknown as { _zod: { def: Def } })._zod.def

/** Every option path of the schema: objects are walked, an object inside a union too. */
function optionPaths(schema: z.ZodType, prefix = ''): string[] {
  let def = defOf(schema)
  while (def.innerType || (def.type === 'pipe' && def.in)) {
    def = defOf((def.innerType ?? def.in)!)
  }
  if (def.type === 'object' && def.shape) {
    return Object.entries(def.shape).flatMap(([key, child]) =>
      optionPaths(child, prefix ? `${prefix}.${key}` : key),
    )
  }
  if (def.type === 'union' && def.options) {
    const object = def.options.map((o) => optionPaths(o, prefix)).find((p) => p[0] !== prefix)
    return object ? [prefix, ...object] : [prefix]
  }
  return [prefix]
}

/** The default of every option path that has a plain (non-object) default. */
function optionDefaults(schema: z.ZodType, prefix = '', out = new Map<string, unknown>()) {
  let def = defOf(schema)
  while (def.innerType || (def.type === 'pipe' && def.in)) {
    if (def.type === 'default' && typeof def.defaultValue !== 'object') {
      out.set(prefix, def.defaultValue)
    }
    def = defOf((def.innerType ?? def.in)!)
  }
  if (def.type === 'object' && def.shape) {
    for (const [key, child] of Object.entries(def.shape))
      optionDefaults(child, prefix ? `${prefix}.${key}` : key, out)
  }
  if (def.type === 'union' && def.options)
    for (const o of def.options) optionDefaults(o, prefix, out)
  return out
}

const MiB = 1024 * 1024

/** Whether a README cell states `value`: 300000 as a number, 1048576 as `1 MiB` too. */
function states(cell: string, value: unknown): boolean {
  if (typeof value === 'number') {
    const forms = [String(value)]
    if (value >= MiB && value % MiB === 0) forms.push(`${value / MiB} MiB`)
    return forms.some((form) =>
      new RegExp(`(?<![\\d.])${form.replace('.', '\\.')}(?![\\d])`).test(cell),
    )
  }
  return cell.includes(String(value))
}

/** The rows of the README's configuration table: option paths named and variables named. */
function tableRows(): {
  paths: Set<string>
  variables: Set<string>
  cells: Map<string, string>
} {
  const section = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('## Errors'))
  const paths = new Set<string>()
  const variables = new Set<string>()
  const cells = new Map<string, string>()
  for (const line of section.split('\n').filter((l) => l.startsWith('| `'))) {
    const [option = '', env = '', cell = ''] = line.split('|').slice(1, 4)
    let last = ''
    for (const [, name] of option.matchAll(/`(\.?[a-zA-Z][\w.]*)`/g)) {
      // `.cert` continues the path before it: `database.tls.ca`, `.cert`.
      const path = name!.startsWith('.') ? last.replace(/\.[^.]+$/, '') + name : name!
      paths.add(path)
      cells.set(path, cell)
      last = path
    }
    for (const [, name] of env.matchAll(/`([A-Z0-9_]+)`/g)) variables.add(name!)
  }
  return { paths, variables, cells }
}

describe("the README's configuration table", () => {
  const { paths, variables, cells } = tableRows()
  const options = optionPaths(optionsSchema as unknown as z.ZodType)

  it('has a row for every option of the schema', () => {
    expect(options.length).toBeGreaterThan(40)
    expect(options.filter((path) => !paths.has(path))).toEqual([])
  })

  it('names no option the schema does not have', () => {
    expect([...paths].filter((path) => !options.includes(path))).toEqual([])
  })

  it("states each option's default as the schema has it", () => {
    const defaults = optionDefaults(optionsSchema as unknown as z.ZodType)
    expect(defaults.size).toBeGreaterThan(25)
    const wrong = [...defaults]
      .filter(([path, value]) => !states(cells.get(path) ?? '', value))
      .map(([path, value]) => `${path}: the schema says ${String(value)}`)
    expect(wrong).toEqual([])
  })

  it('names every variable fromEnv reads, and only those', () => {
    const read = ENV_VARIABLES.map((v) => v.name)
    expect(read.filter((name) => !variables.has(name))).toEqual([])
    expect([...variables].filter((name) => !read.includes(name))).toEqual([])
  })
})
