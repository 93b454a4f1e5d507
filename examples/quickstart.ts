/**
 * The README's demo: stratum-data on its embedded defaults (PGlite with pgvector, in
 * memory; blobs in ./.stratum/blobs). Creates a user, a chat and messages, stores
 * embeddings, runs a similarity search, stores a file, and shows a rollback, typed
 * errors and the health report.
 *
 * Run it with `npm run demo`.
 */
import { createHash } from 'node:crypto'
import { createDataLayer, isStratumError } from 'stratum-data'

const DIMENSIONS = 1536

/**
 * A stand-in for an embedding model: hashes each word (and word pair) into one of
 * DIMENSIONS buckets, so texts sharing words point in similar directions.
 */
function embed(text: string): number[] {
  const vector = new Array<number>(DIMENSIONS).fill(0)
  const words = text.toLowerCase().match(/[a-z0-9]+/g) ?? []
  const features = [...words, ...words.slice(1).map((w, i) => `${words[i]} ${w}`)]
  for (const feature of features) {
    const digest = createHash('sha256').update(feature).digest()
    const bucket = digest.readUInt32BE(0) % DIMENSIONS
    vector[bucket]! += digest[4]! & 1 ? 1 : -1
  }
  const norm = Math.hypot(...vector) || 1
  return vector.map((v) => v / norm)
}

const step = (text: string) => console.log(`\n▸ ${text}`)
const started = performance.now()

step('Opening the data layer on its embedded defaults (PGlite + pgvector, in memory)')
const data = await createDataLayer()
console.log(`  backend: ${data.backend}, embedding dimensions: ${data.embeddingDimensions}`)

step('Applying migrations')
const { applied } = await data.migrate()
console.log(`  applied: ${applied.map((m) => m.tag).join(', ')}`)

step('Creating a user and a chat')
const user = await data.users.create({
  email: 'Ada@Example.com',
  firstName: 'Ada',
  lastName: 'Lovelace',
})
console.log(`  user ${user.id} <${user.email}> (stored lower-cased)`)
const chat = await data.chats.create({ userId: user.id, title: 'Databases for a chat app' })
console.log(`  chat ${chat.id} "${chat.title}"`)

step('Appending messages (each bumps the chat in one transaction)')
const conversation = [
  { role: 'user', content: 'Which database should store chat history?' },
  {
    role: 'assistant',
    content: 'PostgreSQL stores chats and messages with foreign keys and indexes.',
  },
  { role: 'user', content: 'How do I search messages by meaning, not keywords?' },
  {
    role: 'assistant',
    content:
      'Store embeddings with pgvector and search vectors by cosine distance with an HNSW index.',
  },
  { role: 'user', content: 'And where do avatars and uploaded files go?' },
  { role: 'assistant', content: 'Put files in S3 object storage and keep their keys in Postgres.' },
] as const
const messages = await data.messages.appendMany(
  conversation.map((m) => ({ chatId: chat.id, ...m })),
)
for (const m of messages) console.log(`  [${m.role}] ${m.content}`)

step('Storing one embedding per message')
const stored = await data.vectors.upsert(
  messages.map((m) => ({
    userId: user.id,
    chatId: chat.id,
    messageId: m.id,
    content: m.content,
    embedding: embed(m.content),
  })),
)
console.log(`  stored ${stored.length} vectors of ${DIMENSIONS} dimensions`)

const question = 'search vectors with an index'
step(`Similarity search for "${question}" (scoped to Ada)`)
const hits = await data.vectors.search({ userId: user.id, embedding: embed(question), limit: 3 })
for (const hit of hits) console.log(`  score ${hit.score.toFixed(3)}  ${hit.content}`)

step('Storing a file next to the rows (blob store: the local filesystem by default)')
const avatarKey = `avatars/${user.id}.svg`
const avatar =
  '<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><circle r="4" cx="4" cy="4"/></svg>'
await data.blobs.put(avatarKey, avatar, {
  contentType: 'image/svg+xml',
  metadata: { 'user-id': user.id },
})
const head = await data.blobs.head(avatarKey)
console.log(`  ${data.blobs.kind}: ${head.key} (${head.size} bytes, ${head.contentType})`)
const { items: avatars } = await data.blobs.list({ prefix: 'avatars/' })
console.log(`  listed under avatars/: ${avatars.length} object(s)`)
await data.blobs.delete(avatarKey)

step('A transaction that fails is rolled back completely')
await data
  .transaction(async (tx) => {
    const temp = await tx.chats.create({ userId: user.id, title: 'draft' })
    await tx.messages.append({ chatId: temp.id, role: 'user', content: 'never saved' })
    throw new Error('abandon the draft')
  })
  .catch((error: Error) => console.log(`  rolled back: ${error.message}`))
const { items: chats } = await data.chats.listByUser(user.id)
console.log(
  `  Ada still has ${chats.length} chat(s): ${chats.map((c) => `"${c.title}"`).join(', ')}`,
)

step('Bad input gets a typed error with a stable code')
for (const attempt of [
  () => data.users.create({ email: 'ADA@example.com' }),
  () => data.vectors.upsert([{ userId: user.id, content: 'short', embedding: [0.1, 0.2, 0.3] }]),
  () => data.blobs.put('../../etc/passwd', 'nope'),
]) {
  try {
    await attempt()
  } catch (error) {
    if (!isStratumError(error)) throw error
    console.log(`  ${error.code}: ${error.message}`)
  }
}

step('Health')
const health = await data.health()
console.log(
  `  ${health.status}: database ${health.parts.database.status} in ${health.parts.database.latencyMs.toFixed(2)} ms, ` +
    `cache ${health.parts.cache.status}, blobs ${health.parts.blobs.status} (${health.parts.blobs.backend})`,
)

await data.close()
console.log(`\nDone in ${((performance.now() - started) / 1000).toFixed(1)} s.`)
