import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { TOOL_STATES } from '../../src/schema/message-parts.js'
import { fromUIMessage, toUIMessage, type UIMessageLike } from '../../src/schema/ui-messages.js'
import { anyInput, propertyOptions } from '../helpers/property.js'

// Issue #19: UI messages of the AI SDK, generated. A message that can be stored comes back
// from JSON exactly as it went in; anything else is VALIDATION, never a changed value.

const throughJson = <T>(value: T): T => JSON.parse(JSON.stringify(value))
const storableText = fc
  .string({ unit: 'grapheme', maxLength: 40 })
  .filter((s) => !s.includes('\u0000'))
const name = fc.stringMatching(/^[a-zA-Z][\w.]{0,15}$/)
// A key named __proto__ is refused on purpose (it cannot be stored safely): not storable.
const json = fc
  .jsonValue({ maxDepth: 3 })
  .filter((v) => !/\\u0000|"__proto__"/.test(JSON.stringify(v)))
const jsonObject = fc.dictionary(name, json, { maxKeys: 3 })
/** Fields a future SDK might add to a part; never one of the names the library maps. */
const extraFields = fc.dictionary(
  name.map((n) => `x_${n}`),
  json,
  { maxKeys: 2 },
)
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined })

const part = fc.oneof(
  fc.record(
    {
      type: fc.constant('text'),
      text: storableText,
      state: maybe(fc.constantFrom('streaming', 'done')),
    },
    { requiredKeys: ['type', 'text'] },
  ),
  fc.record(
    { type: fc.constant('reasoning'), text: storableText, providerMetadata: jsonObject },
    { requiredKeys: ['type', 'text'] },
  ),
  fc.record(
    {
      type: name.map((n) => `tool-${n}`),
      toolCallId: name,
      state: fc.constantFrom(...TOOL_STATES),
      input: json,
      output: json,
      errorText: storableText,
      approval: fc.record(
        { id: name, approved: fc.boolean(), reason: storableText },
        { requiredKeys: ['id'] },
      ),
    },
    { requiredKeys: ['type', 'toolCallId', 'state'] },
  ),
  fc.record(
    {
      type: fc.constant('dynamic-tool'),
      toolName: name,
      toolCallId: name,
      state: fc.constantFrom(...TOOL_STATES),
      input: json,
    },
    { requiredKeys: ['type', 'toolName', 'toolCallId', 'state'] },
  ),
  fc.record(
    {
      type: fc.constant('file'),
      mediaType: fc.constantFrom('image/png', 'application/pdf'),
      url: fc.webUrl(),
      filename: storableText,
    },
    { requiredKeys: ['type', 'mediaType', 'url'] },
  ),
  fc.record({ type: fc.constant('source-url'), sourceId: name, url: fc.webUrl() }),
  fc.record({ type: fc.constant('step-start') }),
  fc.record(
    { type: name.map((n) => `data-${n}`), id: name, data: json },
    { requiredKeys: ['type', 'data'] },
  ),
  fc.record({ type: name.map((n) => `future-${n}`), payload: json }),
)
const partWithExtra = fc.tuple(part, extraFields).map(([p, extra]) => ({ ...extra, ...p }))
const message = fc.record(
  {
    id: name,
    role: fc.constantFrom('system', 'user', 'assistant'),
    metadata: json,
    parts: fc.array(partWithExtra, { maxLength: 6 }),
  },
  { requiredKeys: ['id', 'role', 'parts'] },
) as fc.Arbitrary<UIMessageLike>

describe('UI messages, generated', () => {
  it('come back from JSON exactly as they went in, and storing them again changes nothing', () => {
    fc.assert(
      fc.property(message, (m) => {
        const stored = throughJson(fromUIMessage(m))
        expect(toUIMessage(stored)).toEqual(throughJson(m))
        expect(throughJson(fromUIMessage(toUIMessage(stored) as UIMessageLike))).toEqual(stored)
      }),
      propertyOptions(),
    )
  })

  it('are refused with VALIDATION, or stored, whatever a client sends', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          anyInput,
          fc.record({
            id: name,
            role: fc.constant('user'),
            parts: fc.array(anyInput, { maxLength: 3 }),
          }),
        ),
        (input) => {
          try {
            const stored = fromUIMessage(input as UIMessageLike)
            expect(toUIMessage(throughJson(stored))).toEqual(throughJson(input))
          } catch (error) {
            expect((error as { code?: string }).code, String(error)).toBe('VALIDATION')
            expect((error as { issues?: unknown[] }).issues?.length).toBeGreaterThan(0)
          }
        },
      ),
      propertyOptions(),
    )
  })
})
