import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { createDataLayer } from '../src/index.js'
import { compareThroughput, formatRate, printTable } from './measure.js'

const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 2000)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
const USERS = 2000
const VECTORS = 2000

type CreateDataLayer = typeof createDataLayer

/**
 * The package as built at `ref`: its source from git, its own locked dependencies, its own
 * build, kept under the system's temporary directory by commit (built once).
 */
function buildAt(ref: string): string {
  const root = join(import.meta.dirname, '..')
  const sha = execFileSync('git', ['rev-parse', '--short=12', ref], { cwd: root }).toString().trim()
  const dir = join(tmpdir(), `stratum-before-${sha}`)
  if (existsSync(join(dir, 'dist', 'index.js'))) return dir
  console.log(`building ${ref} (${sha}) in ${dir} ...`)
  execFileSync(
    'bash',
    ['-c', `rm -rf "${dir}" && mkdir -p "${dir}" && git archive ${sha} | tar -x -C "${dir}"`],
    {
      cwd: root,
    },
  )
  const quiet = { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] as ('ignore' | 'inherit')[] }
  execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--prefer-offline'], quiet)
  execFileSync('npx', ['tsup'], quiet)
  return dir
}

/**
 * The same calls through the package as built at `BENCH_BEFORE` (a git ref) and as built
 * from the working tree, in one process, against the same database and Redis: each figure is
 * the median ratio of alternating rounds, current / before, so a change's effect shows
 * apart from the machine's noise. Each side has its own cache prefix and blob directory.
 */
export async function benchBeforeAfter(
  ref: string,
  databaseUrl: string,
  redisUrl: string,
): Promise<void> {
  const dir = buildAt(ref)
  const load = async (packageDir: string) =>
    (await import(pathToFileURL(join(packageDir, 'dist', 'index.js')).href)) as {
      createDataLayer: CreateDataLayer
    }
  const before = await load(dir)
  // Built the same way as the other side (tsup), not the source through tsx.
  const root = join(import.meta.dirname, '..')
  execFileSync('npx', ['tsup'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] })
  const current = await load(root)
  const blobRoot = await mkdtemp(join(tmpdir(), 'stratum-bench-blobs-'))
  const open = async (create: CreateDataLayer, side: string) => {
    await mkdir(join(blobRoot, side))
    const common = { databaseUrl, database: { pool: { max: 16 } } }
    return {
      plain: await create({
        ...common,
        cache: { entities: { enabled: false } },
        blobs: { dir: join(blobRoot, side) },
      }),
      cached: await create({ ...common, redisUrl, cache: { prefix: `bench-${side}:` } }),
      l1: await create({
        ...common,
        redisUrl,
        cache: { prefix: `bench-${side}-l1:`, l1: { enabled: true } },
      }),
    }
  }
  const old = await open(before.createDataLayer, 'before')
  const now = await open(current.createDataLayer, 'now')
  try {
    const users = await now.plain.users.createMany(
      Array.from({ length: USERS }, (_, i) => ({
        email: `before-after.${i}@example.com`,
        firstName: `First ${i}`,
      })),
    )
    const ids = users.map((u) => u.id)
    const chat = await now.plain.chats.create({ userId: ids[0]!, title: 'bench' })
    const dimensions = 1536
    const vector = (seed: number) =>
      Array.from({ length: dimensions }, (_, d) => Math.sin(seed * 7.3 + d * 0.37))
    for (let i = 0; i < VECTORS; i += 500) {
      await now.plain.vectors.upsert(
        Array.from({ length: 500 }, (_, j) => ({
          userId: ids[0]!,
          chatId: chat.id,
          content: `chunk ${i + j}`,
          embedding: vector(i + j),
        })),
      )
    }
    const body = Buffer.alloc(4096, 7)
    for (const side of [old, now]) {
      for (const id of ids) {
        await side.cached.users.findById(id)
        await side.l1.users.findById(id)
      }
      await side.plain.cache.set('hot', { at: new Date(), n: 42n })
    }
    const id = (i: number) => ids[i % USERS]!
    const cases: [string, number, (d: typeof now) => (i: number) => Promise<unknown>][] = [
      ['users.findById, uncached', 1, (d) => (i) => d.plain.users.findById(id(i))],
      ['users.findById, uncached', 16, (d) => (i) => d.plain.users.findById(id(i))],
      ['users.findById, Redis hit', 1, (d) => (i) => d.cached.users.findById(id(i))],
      ['users.findById, Redis hit', 16, (d) => (i) => d.cached.users.findById(id(i))],
      ['users.findById, L1 hit', 1, (d) => (i) => d.l1.users.findById(id(i))],
      [
        'users.findPage (20 rows)',
        1,
        (d) => () => d.plain.users.findPage({ orderBy: { createdAt: 'desc' }, limit: 20 }),
      ],
      ['cache.get (hit)', 16, (d) => () => d.plain.cache.get('hot')],
      [
        `vectors.search (k 10, ${VECTORS} rows, one user)`,
        1,
        (d) => (i) => d.plain.vectors.search({ userId: ids[0]!, embedding: vector(i), limit: 10 }),
      ],
      [
        'blobs.put + get (4 KiB, filesystem)',
        1,
        (d) => async (i) => {
          await d.plain.blobs.put(`k/${i % 100}`, body)
          return d.plain.blobs.get(`k/${i % 100}`)
        },
      ],
    ]
    console.log(
      `\n## Before and after: the package at ${ref} against the working tree, both built by tsup (same process, ${ROUNDS} alternating rounds of ${DURATION_MS} ms; medians)`,
    )
    const table: string[][] = []
    for (const [name, concurrency, call] of cases) {
      const result = await compareThroughput(call(old as typeof now), call(now), {
        concurrency,
        durationMs: DURATION_MS,
        rounds: ROUNDS,
      })
      table.push([
        name,
        String(concurrency),
        formatRate(result.baseline),
        formatRate(result.subject),
        result.ratio.toFixed(2),
      ])
    }
    printTable(['operation', 'concurrency', `at ${ref}`, 'now', 'ratio'], table)
    console.log('goal: every ratio >= 1.00 within the noise of the rounds')
  } finally {
    await Promise.all(
      [old, now].flatMap((side) => [side.plain.close(), side.cached.close(), side.l1.close()]),
    )
    await rm(blobRoot, { recursive: true, force: true })
  }
}
