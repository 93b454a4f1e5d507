import { StratumError } from '../errors.js'

/** Whether the data layer is closed, or broken by what a late first connection found. */
export interface LayerState {
  closed: boolean
  /** Set when a layer that started with the database down found it misconfigured later. */
  broken?: StratumError | undefined
}

/** Throws `CLOSED` after `data.close()`, or the error that broke the layer. */
export function assertOpen(state: LayerState, operation: string): void {
  if (state.closed) throw new StratumError('CLOSED', `${operation} was called after data.close()`)
  if (state.broken) throw state.broken
}
