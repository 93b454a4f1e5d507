import { type Column, is, Param, Placeholder } from 'drizzle-orm'
import type { DatabaseConnection } from '../db/connection.js'

/** Runs named prepared statements on the root connection (not in a transaction). @internal */
export type PreparedQueryRunner = Pick<DatabaseConnection, 'queryPrepared'>

type Slot =
  | { readonly kind: 'value'; readonly value: unknown }
  | { readonly kind: 'placeholder'; readonly name: string; readonly encoder?: Column | undefined }

/**
 * A read that is compiled once by Drizzle and then run as a named prepared statement,
 * decoding array rows with the columns' own Drizzle decoders. This is the hot path for
 * reads by key: it skips Drizzle's per-call layers (several async frames, placeholder
 * filling by entity checks, a mapping pass) and keeps close to raw `pg`.
 * @internal
 */
export class PreparedRowQuery<TRow> {
  readonly #runner: PreparedQueryRunner
  readonly #name: string
  readonly #text: string
  readonly #slots: readonly Slot[]
  readonly #keys: string[]
  readonly #columns: Column[]

  constructor(
    runner: PreparedQueryRunner,
    name: string,
    query: { sql: string; params: unknown[] },
    fields: Record<string, Column>,
  ) {
    this.#runner = runner
    this.#name = name
    this.#text = query.sql
    this.#slots = query.params.map((param): Slot => {
      if (is(param, Placeholder)) return { kind: 'placeholder', name: param.name }
      if (is(param, Param) && is(param.value, Placeholder)) {
        return { kind: 'placeholder', name: param.value.name, encoder: param.encoder as Column }
      }
      return { kind: 'value', value: param }
    })
    this.#keys = Object.keys(fields)
    this.#columns = Object.values(fields)
  }

  /**
   * Runs the statement with `values` for its placeholders (on `runner`, a replica, when
   * given); resolves to decoded rows.
   */
  execute(values: Record<string, unknown>, runner = this.#runner): Promise<TRow[]> {
    const params = this.#slots.map((slot) => {
      if (slot.kind === 'value') return slot.value
      const value = values[slot.name]
      return slot.encoder && value !== null && value !== undefined
        ? slot.encoder.mapToDriverValue(value)
        : value
    })
    return runner
      .queryPrepared(this.#name, this.#text, params)
      .then((result) => this.#decode(result.rows))
  }

  #decode(rows: unknown[][]): TRow[] {
    const keys = this.#keys
    const columns = this.#columns
    const out = new Array<TRow>(rows.length)
    for (let r = 0; r < rows.length; r++) {
      const row = rows[r]!
      const decoded: Record<string, unknown> = {}
      for (let i = 0; i < keys.length; i++) {
        const value = row[i]
        decoded[keys[i]!] =
          value === null || value === undefined ? null : columns[i]!.mapFromDriverValue(value)
      }
      out[r] = decoded as TRow
    }
    return out
  }
}
