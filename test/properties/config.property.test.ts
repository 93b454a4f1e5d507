import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ENV_VARIABLES, optionsFromEnv } from '../../src/config/env-variables.js'
import { resolveOptions } from '../../src/config/options.js'
import { isStratumError } from '../../src/index.js'
import { anyInput, propertyOptions } from '../helpers/property.js'

// Issue #17: generated environments and option objects. Either they resolve, or they fail
// with CONFIG, quickly, naming the option and never repeating a value (it may be a secret).

const SECRET = 'S3cr3t-do-not-print'
const envValue = fc.oneof(
  fc.constantFrom('', '0', '1', '-1', 'true', 'false', 'yes', '1e3', 'NaN', ' 5 ', '999999999999'),
  fc.string({ maxLength: 12 }),
  fc.constant(`postgres://user:${SECRET}@db.example.com/app`),
  fc.constant(`${SECRET}`),
)

function expectConfigOrValue(run: () => unknown): void {
  try {
    run()
  } catch (error) {
    expect(isStratumError(error, 'CONFIG'), String(error)).toBe(true)
    const message = (error as Error).message
    expect(message).not.toContain(SECRET)
    expect(message.length).toBeLessThan(2_100)
  }
}

describe('configuration, generated', () => {
  it('any environment resolves or fails with CONFIG without printing a value', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom(...ENV_VARIABLES.map((v) => v.name)), envValue, {
          maxKeys: 6,
        }),
        (env) => {
          expectConfigOrValue(() => resolveOptions(optionsFromEnv(env)))
        },
      ),
      propertyOptions(400),
    )
  })

  it('any options object resolves or fails with CONFIG, and unknown names are cut short', () => {
    const optionName = fc.oneof(
      fc.constantFrom('databaseUrl', 'database', 'cache', 's3', 'blobs', 'embeddings', 'replicas'),
      fc.string({ maxLength: 10 }),
      fc.constant('x'.repeat(100_000)),
    )
    fc.assert(
      fc.property(
        fc.dictionary(optionName, fc.oneof(anyInput, envValue), { maxKeys: 4 }),
        (options) => {
          expectConfigOrValue(() => resolveOptions(options as never))
        },
      ),
      propertyOptions(300),
    )
  })
})
