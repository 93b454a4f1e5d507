import pg from 'pg'
import { createDataLayer, type DataLayer } from '../src/index.js'
import { wordHashEmbedding } from '../src/testing/synthetic-vectors.js'
import { createEmptyDatabase, dropDatabase } from '../src/testing/template-databases.js'
import { o200k as count } from '../test/helpers/tokens.js'
import { compareThroughput, formatRate, printTable } from './measure.js'

const DIMENSIONS = 64
const BUDGET = 8000
const LAST_N = 20

/** Facts planted deep in the chat, and the questions that need them. */
const FACTS = [
  ['My passport number ends in 4471.', 'What does my passport number end in?'],
  ['The hotel booking reference is KX-2210.', 'What was the hotel booking reference?'],
  ['I am allergic to hazelnuts.', 'Which food am I allergic to?'],
  ['My sister Anna lands at 14:35 on Friday.', 'When does my sister Anna land?'],
  ['The rental car is a blue Skoda, plate ZH 88123.', 'What is the plate of the rental car?'],
] as const

const embed = (text: string) => wordHashEmbedding(text, DIMENSIONS)
const textOf = (message: { parts: Record<string, unknown>[] }) =>
  message.parts.map((part) => String(part.text ?? '')).join('')

/** A chat of `n` messages, facts planted at even spacing in its first half, each embedded. */
async function seedChat(data: DataLayer, n: number) {
  const user = await data.users.create({ email: `bench.context.${n}.${Date.now()}@example.com` })
  const chat = await data.chats.create({ userId: user.id, title: `bench context ${n}` })
  const planted = new Map(FACTS.map(([fact], i) => [Math.floor(((i + 1) * n) / 12) * 2, fact]))
  for (let start = 0; start < n; start += 1000) {
    const batch = Array.from({ length: Math.min(1000, n - start) }, (_, k) => {
      const i = start + k
      const text =
        planted.get(i) ??
        (i % 2 === 0
          ? `Question ${i}: what else is worth seeing near the lake on day ${i % 97}?`
          : `Answer ${i}: the old town, the botanical garden and the museum of design ${i % 89}.`)
      return {
        id: `m${i}`,
        role: (i % 2 === 0 ? 'user' : 'assistant') as 'user' | 'assistant',
        parts: [{ type: 'text', text }],
      }
    })
    const stored = await data.messages.saveUIMessages(chat.id, batch)
    await data.vectors.upsert(
      stored.map((m) => ({
        userId: user.id,
        chatId: chat.id,
        messageId: m.id,
        content: m.content,
        embedding: embed(m.content),
      })),
    )
  }
  return { user, chat }
}

/**
 * `context.build` against what an app does without it: load the whole chat with raw `pg` and
 * keep the newest messages that fit, counted with the same tokenizer; at 1,000 and 100,000
 * messages per chat. Then the tokens sent and the planted facts found at a fixed budget,
 * against the naive "last 20 messages", for the same questions.
 */
export async function benchContext(adminUrl: string): Promise<void> {
  // A database of its own: its embeddings have another dimension than the main bench's.
  const own = await createEmptyDatabase(adminUrl)
  const data = await createDataLayer({
    databaseUrl: own.url,
    embeddings: { dimensions: DIMENSIONS },
  })
  const pool = new pg.Pool({ connectionString: own.url, max: 2 })
  try {
    await data.migrate()
    const latency: string[][] = []
    const quality: string[][] = []
    for (const n of [1000, 100_000]) {
      const seedStarted = performance.now()
      const { user, chat } = await seedChat(data, n)
      const seeded = ((performance.now() - seedStarted) / 1000).toFixed(0)
      const loadAndTrim = async () => {
        const { rows } = await pool.query<{ role: string; content: string; parts: unknown }>(
          'select role, content, parts from chat_messages where chat_id = $1 order by seq',
          [chat.id],
        )
        let used = 0
        let from = rows.length
        while (from > 0) {
          const cost = count(rows[from - 1]!.content) + 4
          if (used + cost > BUDGET) break
          used += cost
          from--
        }
        return rows.slice(from)
      }
      const build = () => data.context.build({ chatId: chat.id, userId: user.id, budget: BUDGET })
      const long = n > 10_000
      const result = await compareThroughput(loadAndTrim, build, {
        concurrency: 1,
        durationMs: long ? 6000 : 2000,
        rounds: long ? 3 : 5,
      })
      latency.push([
        `${n.toLocaleString('en')} messages (seeded in ${seeded} s)`,
        `${(1000 / result.baseline).toFixed(1)} ms (${formatRate(result.baseline)})`,
        `${(1000 / result.subject).toFixed(1)} ms (${formatRate(result.subject)})`,
        result.ratio.toFixed(2),
      ])

      // The same questions: what is sent, and whether the fact needed is in it.
      let naiveTokens = 0
      let naiveFound = 0
      let builtTokens = 0
      let builtFound = 0
      for (const [fact, question] of FACTS) {
        const [asked] = await data.messages.saveUIMessages(chat.id, [
          {
            id: `q${Date.now()}${Math.random()}`,
            role: 'user',
            parts: [{ type: 'text', text: question }],
          },
        ])
        const { rows } = await pool.query<{ content: string }>(
          'select content from chat_messages where chat_id = $1 order by seq desc limit $2',
          [chat.id, LAST_N],
        )
        naiveTokens += rows.reduce((sum, row) => sum + count(row.content) + 4, 0)
        if (rows.some((row) => row.content === fact)) naiveFound++
        const context = await data.context.build({
          chatId: chat.id,
          userId: user.id,
          budget: 2000,
          relevant: { text: question, embedding: embed(question) },
        })
        builtTokens += context.tokens.used
        if (context.system?.includes(fact) || JSON.stringify(context.messages).includes(fact))
          builtFound++
        await data.messages.delete(asked!.id)
      }
      // With a rolling summary of all but the newest 2,000 tokens (by an extractive
      // summarizer that keeps the messages that are not the chat's routine questions and
      // answers: what a model asked to keep facts would keep; no model runs here) and the
      // facts as long-term memories.
      const summaryStarted = performance.now()
      const summarized = await data.context.summarize({
        chatId: chat.id,
        userId: user.id,
        maxInput: 10_000_000,
        summarize: async ({ previous, messages }) =>
          [
            previous ?? '',
            ...messages.map(textOf).filter((text) => !/^(Question|Answer) \d+:/.test(text)),
          ]
            .filter((line) => line !== '')
            .join('\n'),
      })
      const summaryMs = performance.now() - summaryStarted
      for (const [i, [fact]] of FACTS.entries()) {
        await data.memory.remember({
          userId: user.id,
          key: `fact${i}`,
          content: fact,
          embedding: embed(fact),
        })
      }
      let remembered = 0
      let rememberedTokens = 0
      for (const [fact, question] of FACTS) {
        const [asked] = await data.messages.saveUIMessages(chat.id, [
          {
            id: `q${Date.now()}${Math.random()}`,
            role: 'user',
            parts: [{ type: 'text', text: question }],
          },
        ])
        const context = await data.context.build({
          chatId: chat.id,
          userId: user.id,
          budget: 2000,
          relevant: { text: question, embedding: embed(question), memories: 1, limit: 1 },
        })
        rememberedTokens += context.tokens.used
        if (context.system?.includes(fact) || JSON.stringify(context.messages).includes(fact))
          remembered++
        await data.messages.delete(asked!.id)
      }
      quality.push([
        `${n.toLocaleString('en')} messages`,
        `${(naiveTokens / FACTS.length).toFixed(0)} tokens, ${naiveFound}/${FACTS.length} facts`,
        `${(builtTokens / FACTS.length).toFixed(0)} tokens, ${builtFound}/${FACTS.length} facts`,
        `${(rememberedTokens / FACTS.length).toFixed(0)} tokens, ${remembered}/${FACTS.length} facts (summary of ${summarized.summary?.messageCount ?? 0} messages, ${summarized.summary?.tokens ?? 0} tokens, made in ${(summaryMs / 1000).toFixed(1)} s)`,
      ])
      await data.chats.delete(chat.id)
    }
    console.log(
      `\ncontext.build (budget ${BUDGET}) against loading the whole chat with raw pg and trimming it in the app (same tokenizer); latency per call, ratio of throughputs`,
    )
    printTable(['chat', 'load + trim (raw pg)', 'context.build', 'ratio'], latency)
    console.log(
      `\nthe same five questions, each needing a fact planted deep in the chat: the last ${LAST_N} messages against context.build at a budget of 2,000 with relevant messages (averages per question)`,
    )
    printTable(
      ['chat', `last ${LAST_N} messages`, 'context.build', 'context.build, summary and memories'],
      quality,
    )
  } finally {
    await pool.end()
    await data.close()
    await dropDatabase(adminUrl, own.name)
  }
}
