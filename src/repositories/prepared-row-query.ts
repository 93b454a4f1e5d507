import { type Column, fillPlaceholders } from 'drizzle-orm'
import type { DatabaseConnection } from '../db/connection.js'

/** Runs named prepared statements on the root connection (not in a transaction). @internal */
export type PreparedQueryRunner = Pick<DatabaseConnection, 'queryPrepared'>

/**
 * A read that is compiled once by Drizzle and then run as a named prepared statement,
 * decoding array rows with the columns' own Drizzle decoders. This is the hot path for
 * reads by key: it skips Drizzle's per-call layers and keeps close to raw `pg`.
 * @internal
 */
export class PreparedRowQuery<TRow> {
  readonly #runner: PreparedQueryRunner
  readonly #name: string
  readonly #text: string
  readonly #params: unknown[]
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
    this.#params = query.params
    this.#keys = Object.keys(fields)
    this.#columns = Object.values(fields)
  }

  async execute(values: Record<string, unknown>): Promise<TRow[]> {
    const rows = await this.#runner.queryPrepared(
      this.#name,
      this.#text,
      fillPlaceholders(this.#params, values),
    )
    const keys = this.#keys
    const columns = this.#columns
    return rows.map((row) => {
      const out: Record<string, unknown> = {}
      for (let i = 0; i < keys.length; i++) {
        const value = row[i]
        out[keys[i]!] =
          value === null || value === undefined ? null : columns[i]!.mapFromDriverValue(value)
      }
      return out as TRow
    })
  }
}
