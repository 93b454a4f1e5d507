// An embedding worker in a process of its own, for the kill test: a data layer with
// embedOnWrite (the AI SDK's embedMany over MockEmbeddingModelV4) whose in-process worker
// drains the queue. Each call to the model prints `embedding <n> <json texts>` before it
// answers, so the test knows what was sent; the test kills it with SIGKILL (no cleanup).
import { createDataLayer } from '../../../src/index.js'
import { mockEmbedder } from '../mock-embedder.js'

const { databaseUrl, dimensions } = JSON.parse(process.argv[2]!) as {
  databaseUrl: string
  dimensions: number
}
const embedder = mockEmbedder(dimensions, { delayMs: 15 })
embedder.whileEmbedding(async (texts) => {
  process.stdout.write(`embedding ${texts.length} ${JSON.stringify(texts)}\n`)
})
await createDataLayer({
  databaseUrl,
  embeddings: { dimensions },
  embedOnWrite: { embed: embedder.embed, batchSize: 50, pollIntervalMs: 20, leaseMs: 2000 },
})
process.stdout.write('ready\n')
