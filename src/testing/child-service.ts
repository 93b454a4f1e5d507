import type { ChildProcess } from 'node:child_process'
import { rm } from 'node:fs/promises'

/** A server process started for tests, with its readiness wait and its stop. @internal */
export interface ChildService {
  /** Resolves once `ready()` answers true; kills the process and throws if it never does. */
  waitUntilReady(
    ready: () => Promise<boolean>,
    timeoutMs: number,
    whatFailed: string,
  ): Promise<void>
  /** SIGTERM, then SIGKILL after 3 s; removes `dir`. */
  stop(): Promise<void>
}

/**
 * Wraps a spawned test server (redis-server, s3rver) whose data lives in `dir`.
 * @internal
 */
export function childService(child: ChildProcess, dir: string): ChildService {
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const failed = new Promise<never>((_, reject) => child.once('error', reject))
  failed.catch(() => {})
  return {
    async waitUntilReady(ready, timeoutMs, whatFailed) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        if (await Promise.race([ready(), failed])) return
        if (Date.now() > deadline || child.exitCode !== null) {
          child.kill('SIGKILL')
          await rm(dir, { recursive: true, force: true })
          throw new Error(whatFailed)
        }
        await new Promise((r) => setTimeout(r, 50))
      }
    },
    async stop() {
      child.kill('SIGTERM')
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))])
      if (child.exitCode === null) child.kill('SIGKILL')
      await rm(dir, { recursive: true, force: true })
    },
  }
}
