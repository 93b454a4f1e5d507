import { readdir, readFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const src = fileURLToPath(new URL('../../src', import.meta.url))
/** A file past this many lines holds more than one concept; split it. */
const MAX_LINES = 500

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true })
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name))
}

describe('source files', () => {
  it(`stay at or under ${MAX_LINES} lines each`, async () => {
    const files = await sourceFiles(src)
    expect(files.length).toBeGreaterThan(50)
    const tooLong: string[] = []
    for (const file of files) {
      const lines = (await readFile(file, 'utf8')).split('\n').length - 1
      if (lines > MAX_LINES) tooLong.push(`${relative(src, file)}: ${lines} lines`)
    }
    expect(tooLong).toEqual([])
  })
})
