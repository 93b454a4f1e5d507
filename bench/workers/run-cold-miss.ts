import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

/** What one cold-miss worker reports. */
export interface ColdMissResult {
  loads: number
  leaseWaits?: number
  allFound: boolean
}

const worker = fileURLToPath(new URL('./cold-miss.ts', import.meta.url))

/**
 * Starts `processes` workers (bench/workers/cold-miss.ts), waits until every one is
 * connected, releases them together and collects what each reports.
 */
export async function runColdMissWorkers(
  processes: number,
  input: Record<string, unknown>,
): Promise<ColdMissResult[]> {
  const children = Array.from({ length: processes }, () =>
    spawn(process.execPath, ['--import', 'tsx', worker, JSON.stringify(input)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    }),
  )
  try {
    const outputs = children.map((child) => {
      const lines = createInterface({ input: child.stdout! })
      const iterator = lines[Symbol.asyncIterator]()
      return async () => {
        const next = await iterator.next()
        if (next.done) throw new Error(`cold-miss worker ${child.pid} exited early`)
        return next.value
      }
    })
    const ready = await Promise.all(outputs.map((read) => read()))
    if (ready.some((line) => line !== 'ready')) throw new Error(`worker said ${ready.join(', ')}`)
    for (const child of children) child.stdin!.write('go\n')
    const reports = await Promise.all(outputs.map((read) => read()))
    return reports.map((line) => JSON.parse(line) as ColdMissResult)
  } finally {
    for (const child of children) child.stdin!.end()
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null) return resolve()
            const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
            child.once('exit', () => {
              clearTimeout(timer)
              resolve()
            })
          }),
      ),
    )
  }
}
