import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { BlobStore, fsBlobDriver, memoryBlobDriver } from '../../src/storage/index.js'
import { blobStoreContract, uniquePrefix } from '../../src/testing/contracts/index.js'
import { openTestS3Store } from '../helpers/s3.js'

// The project runs the same exported suites a third-party driver would.
const api = { afterAll, beforeAll, describe, expect, it }

const local = { signedUrls: false, verifiesSignatures: false, atomicReplace: true }

blobStoreContract(api, 'memory', local, async () => {
  const store = new BlobStore(memoryBlobDriver(), { prefix: uniquePrefix() })
  return { store, close: () => store.close() }
})

blobStoreContract(api, 'fs', local, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'stratum-blobs-'))
  const store = new BlobStore(fsBlobDriver({ dir }))
  return {
    store,
    async close() {
      await store.close()
      await rm(dir, { recursive: true, force: true })
    },
  }
})

// s3rver neither checks SigV4 signatures nor replaces objects atomically (see the
// contract's capabilities); a real endpoint given by TEST_S3_* does both.
const isS3rver = inject('s3Description').startsWith('s3rver')
const s3Capabilities = { signedUrls: true, verifiesSignatures: !isS3rver, atomicReplace: !isS3rver }

blobStoreContract(api, `s3 (${inject('s3Description')})`, s3Capabilities, async () =>
  openTestS3Store(),
)
