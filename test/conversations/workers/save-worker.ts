// One writer of the multi-process ordering test: saves `count` messages with ids
// `<name>-<i>` to one chat in small batches, and retries like a client does (the same batch
// again, and an older batch again later). Prints `done` when finished.
import { createDataLayer } from '../../../src/index.js'

const { databaseUrl, chatId, name, count } = JSON.parse(process.argv[2]!) as {
  databaseUrl: string
  chatId: string
  name: string
  count: number
}
const data = await createDataLayer({ databaseUrl, database: { pool: { max: 2 } } })
try {
  const message = (i: number) => ({
    id: `${name}-${i}`,
    role: (i % 2 ? 'assistant' : 'user') as 'user' | 'assistant',
    parts: [{ type: 'text', text: `${name} says ${i}` }],
  })
  let previous: ReturnType<typeof message>[] = []
  for (let i = 0; i < count; ) {
    const size = 1 + ((i * 7 + name.length) % 5)
    const batch = Array.from({ length: Math.min(size, count - i) }, (_, j) => message(i + j))
    // Like the AI SDK's client, a writer sends its history with the new messages (here the
    // tail of it): its new messages follow its own, whatever the other writers did.
    const sent = [...previous.slice(-1), ...batch]
    await data.messages.saveUIMessages(chatId, sent)
    await data.messages.saveUIMessages(chatId, sent) // a retried request
    if (i % 3 === 0) await data.messages.saveUIMessages(chatId, previous) // a late duplicate
    previous = batch
    i += batch.length
  }
  console.log('done')
} finally {
  await data.close()
}
