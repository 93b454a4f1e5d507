import { describe, expectTypeOf, it } from 'vitest'
import type {
  AdministeredVectorStore,
  DataLayer,
  ExtensionScope,
  TransactionScope,
  VectorStore,
} from '../../src/index.js'

declare const data: DataLayer
declare const tx: TransactionScope
declare const scope: ExtensionScope

describe('a transaction scope has only what works in a transaction', () => {
  it('has no erase() on users', () => {
    expectTypeOf(data.users).toHaveProperty('erase')
    expectTypeOf(tx.users).not.toHaveProperty('erase')
    // @ts-expect-error erase() runs a transaction of its own
    tx.users.erase('0190e9a4-3b5e-7d2a-9c1f-2a3b4c5d6e7f')
  })

  it('has the vector data operations but no index administration', () => {
    expectTypeOf(data.vectors).toEqualTypeOf<AdministeredVectorStore>()
    expectTypeOf(tx.vectors).toEqualTypeOf<VectorStore>()
    expectTypeOf(tx.vectors).toHaveProperty('search')
    expectTypeOf(tx.vectors).toHaveProperty('upsert')
    for (const method of ['ensureIndex', 'dropIndex', 'indexes', 'partition'] as const) {
      expectTypeOf(data.vectors).toHaveProperty(method)
    }
    // @ts-expect-error index builds run outside transactions
    tx.vectors.ensureIndex({ metric: 'l2' })
    // @ts-expect-error the conversion runs outside transactions
    tx.vectors.partition({ partitions: 4 })
    // @ts-expect-error
    tx.vectors.dropIndex('chat_vectors_embedding_idx')
    // @ts-expect-error
    tx.vectors.indexes()
  })

  it('gives extensions the transaction repositories, in or out of a transaction', () => {
    expectTypeOf(scope.users).not.toHaveProperty('erase')
    expectTypeOf(scope.vectors).toEqualTypeOf<VectorStore>()
  })

  it('keeps the layer-only operations off the scope', () => {
    expectTypeOf(tx).not.toHaveProperty('migrate')
    expectTypeOf(tx).not.toHaveProperty('backup')
    expectTypeOf(tx).not.toHaveProperty('close')
  })
})
