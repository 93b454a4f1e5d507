/** A JSON value as a jsonb column stores it (and a metadata condition compares with). */
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | JsonValue[]
  | { [key: string]: JsonValue }
/** A JSON object as a jsonb column stores it. */
export type JsonObject = { [key: string]: JsonValue }

/** Deepest nesting of arrays and objects a stored JSON value may have. */
export const MAX_JSON_DEPTH = 64

/** Where a JSON value breaks the rules (`path` as `a.b[2]`), and why. */
export interface JsonProblem {
  readonly path: string
  readonly message: string
}

/**
 * Why a string cannot be stored exactly, or `undefined` when it can: Postgres text holds no
 * NUL, and a lone UTF-16 surrogate would be stored as U+FFFD.
 * @internal
 */
export function textProblem(value: string): string | undefined {
  if (value.includes('\u0000')) return 'must not contain NUL (\\u0000) characters'
  if (!value.isWellFormed())
    return 'must not contain a lone UTF-16 surrogate (it would be stored as U+FFFD)'
  return undefined
}

const isPlainObject = (value: object): boolean => {
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

const describe = (value: object): string =>
  ArrayBuffer.isView(value)
    ? 'a typed array'
    : value instanceof Date
      ? 'a Date (store its toISOString() or getTime())'
      : value instanceof Map || value instanceof Set
        ? `a ${value instanceof Map ? 'Map' : 'Set'}`
        : 'an object that is not a plain object'

/**
 * The first reason `value` would not come back from a jsonb column exactly as given, or
 * `undefined` when it would. Only plain JSON is accepted: plain objects and dense arrays
 * of strings, finite numbers (not -0), booleans and null, nested at most
 * {@link MAX_JSON_DEPTH} deep. A property whose value is `undefined` is left out, as
 * `JSON.stringify` does; everywhere else `undefined` is refused. Iterative, so hostile
 * nesting cannot overflow the stack.
 * @internal
 */
export function jsonProblem(value: unknown): JsonProblem | undefined {
  const stack: { value: unknown; path: string; depth: number }[] = [{ value, path: '', depth: 0 }]
  while (stack.length > 0) {
    const { value: v, path, depth } = stack.pop()!
    const fail = (message: string): JsonProblem => ({ path, message })
    switch (typeof v) {
      case 'string': {
        const problem = textProblem(v)
        if (problem) return fail(problem)
        continue
      }
      case 'number':
        if (!Number.isFinite(v))
          return fail('must be a finite number (JSON has no NaN or Infinity)')
        if (Object.is(v, -0)) return fail('must not be -0 (JSON stores it as 0)')
        continue
      case 'boolean':
        continue
      case 'object':
        break
      default:
        return fail(
          `is ${v === undefined ? 'undefined' : `a ${typeof v}`}, which JSON cannot store`,
        )
    }
    if (v === null) continue
    if (depth >= MAX_JSON_DEPTH) return fail(`nests deeper than ${MAX_JSON_DEPTH} levels`)
    if (Array.isArray(v)) {
      if (Object.getPrototypeOf(v) !== Array.prototype) return fail('must be a plain array')
      for (let i = v.length - 1; i >= 0; i--) {
        if (!(i in v))
          return { path: `${path}[${i}]`, message: 'is an array hole (JSON stores it as null)' }
        stack.push({ value: v[i], path: `${path}[${i}]`, depth: depth + 1 })
      }
      continue
    }
    if (!isPlainObject(v)) return fail(`is ${describe(v)}, which JSON cannot store as given`)
    if (Object.getOwnPropertySymbols(v).length > 0) return fail('has symbol keys, which JSON drops')
    for (const key of Object.keys(v)) {
      const keyPath = path === '' ? key : `${path}.${key}`
      if (key === '__proto__')
        return { path: keyPath, message: 'is a key named __proto__, which cannot be stored safely' }
      const keyProblem = textProblem(key)
      if (keyProblem) return { path: keyPath, message: `key ${keyProblem}` }
      const child = (v as Record<string, unknown>)[key]
      if (child === undefined) continue
      stack.push({ value: child, path: keyPath, depth: depth + 1 })
    }
  }
  return undefined
}
