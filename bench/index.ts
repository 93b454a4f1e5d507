/**
 * `npm run bench`: each figure side by side with a baseline measured in the same run,
 * printed as a ratio. Starts a real PostgreSQL the same way the tests do.
 */
import { createDataLayer } from '../src/index.js'
import { startTestServices } from '../src/testing/start-test-services.js'
import { cloneDatabase, ensureTemplateDatabase } from '../src/testing/template-databases.js'
import { benchAttachments } from './attachments.js'
import { benchBeforeAfter } from './before-after.js'
import { benchBlobs } from './blobs.js'
import { benchCacheResilience } from './cache-resilience.js'
import { benchCachedReads } from './cached-reads.js'
import { benchColdMisses } from './cold-misses.js'
import { benchContext } from './context.js'
import { benchConversations } from './conversations.js'
import { benchEmbedding } from './embedding.js'
import { benchL1Reads } from './l1-reads.js'
import { benchPartitionedVectors } from './partitioned-vectors.js'
import { benchPointReads } from './point-reads.js'
import { benchReplicas } from './replicas.js'
import { benchTestDatabases } from './test-databases.js'
import { benchVectorSearch } from './vector-search.js'

const services = await startTestServices({ allowEmbedded: false })
try {
  console.log(`# stratum-data bench (${new Date().toISOString()})`)
  console.log(services.summary.join('\n'))
  const adminUrl = services.postgres!.url
  await ensureTemplateDatabase(adminUrl, { embeddings: { dimensions: 384 } })
  const { url } = await cloneDatabase(adminUrl, await ensureTemplateDatabase(adminUrl))
  // Rows are not cached here (server + per-process memory cache): this is the repository
  // against raw pg.
  const data = await createDataLayer({
    databaseUrl: url,
    database: { pool: { max: 16 } },
    cache: { entities: { enabled: false } },
  })
  const cached = await createDataLayer({
    databaseUrl: url,
    database: { pool: { max: 16 } },
    redisUrl: services.redis!.url,
    cache: { prefix: 'bench:' },
  })
  const withL1 = await createDataLayer({
    databaseUrl: url,
    database: { pool: { max: 16 } },
    redisUrl: services.redis!.url,
    cache: { prefix: 'bench-l1:', l1: { enabled: true } },
  })
  try {
    // BENCH_ONLY=cache, conversations, context, embedding, vectors, partitions, blobs, attachments, testing, replicas or before runs one part.
    const only = process.env.BENCH_ONLY
    // BENCH_BEFORE=<git ref>: the same calls through the package built at that ref, too.
    const before = process.env.BENCH_BEFORE
    if (before && (!only || only === 'before')) {
      await benchBeforeAfter(before, url, services.redis!.url)
    }
    if (!only || only === 'cache') {
      await benchPointReads(data, url)
      const ids = await benchCachedReads(cached, data, services.redis!.url)
      await benchL1Reads(withL1, data, ids, services.redis!.url)
      await benchColdMisses(data, url, services.redis!.url)
      await benchCacheResilience(data, url)
    }
    if (!only || only === 'conversations') await benchConversations(data, url)
    if (!only || only === 'context') await benchContext(adminUrl)
    if (!only || only === 'embedding') await benchEmbedding(adminUrl)
    if (!only || only === 'blobs') await benchBlobs(services.s3!.s3, url)
    if (!only || only === 'attachments') await benchAttachments(services.s3!.s3, url)
    if (!only || only === 'vectors') await benchVectorSearch(adminUrl)
    if (!only || only === 'partitions') await benchPartitionedVectors(adminUrl)
    if (!only || only === 'testing') await benchTestDatabases(adminUrl)
    if (!only || only === 'replicas') await benchReplicas()
  } finally {
    await Promise.all([data.close(), cached.close(), withL1.close()])
  }
} finally {
  await services.stop()
}
