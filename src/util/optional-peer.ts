import { createRequire } from 'node:module'
import { ConfigError } from '../errors.js'

const requirePeer = createRequire(import.meta.url)

/**
 * Loads an optional peer dependency the moment a feature that needs it is configured, so
 * that an application without it never loads it (or needs it installed). Missing, it is a
 * `CONFIG` error naming the package to install. Synchronous, so driver factories keep
 * their signatures; every such peer ships a CommonJS build.
 */
export function loadOptionalPeer<T>(name: string, feature: string): T {
  try {
    return requirePeer(name) as T
  } catch (error) {
    const code = (error as { code?: unknown }).code
    if (code === 'MODULE_NOT_FOUND' && String((error as Error).message).includes(`'${name}'`)) {
      throw new ConfigError(
        `${feature} needs the package ${name}, which is not installed: npm install ${name}`,
        { details: { package: name } },
      )
    }
    throw error
  }
}
