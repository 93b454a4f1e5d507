/**
 * Seeded synthetic embeddings for tests and benchmarks: points of a Gaussian mixture, the
 * same for a given seed on every machine.
 * @internal
 */
export interface GaussianMixture {
  /** The next point: a random center plus Gaussian noise. */
  point(): number[]
}

/** mulberry32: a small, fast, seeded generator of numbers in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Standard normal numbers (Box-Muller) drawn from a seeded generator of [0, 1). */
export function seededNormal(next: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next())
}

/**
 * `centers` standard-normal centers in `dimensions`; each point is one of them plus normal
 * noise of standard deviation `noise`. Larger noise makes nearest-neighbour search harder.
 * @internal
 */
export function gaussianMixture(options: {
  dimensions: number
  centers: number
  noise: number
  seed: number
}): GaussianMixture {
  const next = seededRandom(options.seed)
  const normal = seededNormal(next)
  const centers = Array.from({ length: options.centers }, () =>
    Array.from({ length: options.dimensions }, normal),
  )
  return {
    point() {
      const center = centers[Math.floor(next() * options.centers)]!
      return center.map((x) => x + normal() * options.noise)
    },
  }
}

/** The ids of the `k` rows nearest to `query` by cosine distance, computed exactly. */
export function exactCosineTop(
  query: readonly number[],
  rows: readonly { id: string; embedding: readonly number[]; norm: number }[],
  k: number,
): string[] {
  let qn = 0
  for (const x of query) qn += x * x
  qn = Math.sqrt(qn)
  const scored = rows.map((r) => {
    let dot = 0
    for (let i = 0; i < query.length; i++) dot += r.embedding[i]! * query[i]!
    return { id: r.id, d: 1 - dot / (r.norm * qn) }
  })
  scored.sort((a, b) => a.d - b.d)
  return scored.slice(0, k).map((r) => r.id)
}

/** The Euclidean norm of a vector. */
export function norm(vector: readonly number[]): number {
  let sum = 0
  for (const x of vector) sum += x * x
  return Math.sqrt(sum)
}

/**
 * A bag-of-words embedding: each word (lower-cased letters and digits) hashed into one of
 * `dimensions` with FNV-1a, then normalised. Texts that share words are near, so hybrid
 * search finds facts without an embedding model (tests and benches).
 * @internal
 */
export function wordHashEmbedding(text: string, dimensions: number): number[] {
  const v = new Array<number>(dimensions).fill(0)
  for (const word of text.toLowerCase().match(/[a-z0-9]+/g) ?? []) {
    let h = 2166136261
    for (const c of word) h = Math.imul(h ^ c.charCodeAt(0), 16777619)
    v[Math.abs(h) % dimensions]! += 1
  }
  const length = norm(v) || 1
  return v.map((x) => x / length)
}
