/** Where a test service came from. */
export type ServiceSource = 'env' | 'docker' | 'local'

/**
 * A service started (or found) for tests.
 *
 */
export interface RunningService {
  /** Connection URL with admin rights. */
  readonly url: string
  readonly source: ServiceSource
  /** What it is, for the test output (never a password). */
  readonly description: string
  /** The server's process id, when it was started here as a local process. */
  readonly pid?: number
  /** Stops it if it was started here; does nothing for a service given by URL. */
  stop(): Promise<void>
}
