import { readFileSync } from 'node:fs'
import { ConfigError } from '../errors.js'
import type { DataLayerOptions } from './options.js'

type EnvKind = 'string' | 'int' | 'boolean' | 'file' | 'list'

/** One environment variable read by `createDataLayer.fromEnv()`. */
export interface EnvVariable {
  readonly name: string
  readonly path: readonly string[]
  readonly kind: EnvKind
  readonly description: string
}

/** Every environment variable `createDataLayer.fromEnv()` reads, with the option it sets. */
export const ENV_VARIABLES: readonly EnvVariable[] = [
  {
    name: 'DATABASE_URL',
    path: ['databaseUrl'],
    kind: 'string',
    description: 'Postgres server URL; unset means embedded PGlite',
  },
  {
    name: 'DATABASE_ADMIN_URL',
    path: ['adminUrl'],
    kind: 'string',
    description:
      'URL with DDL rights for migrations, index builds and backups (DATABASE_URL then runs queries only)',
  },
  {
    name: 'DATABASE_DIRECT_URL',
    path: ['directUrl'],
    kind: 'string',
    description:
      'direct (session) URL for migrations, index builds and backups when DATABASE_URL goes through a transaction pooler',
  },
  {
    name: 'REDIS_CLUSTER_NODES',
    path: ['cache', 'redis', 'clusterNodes'],
    kind: 'list',
    description: 'comma-separated redis:// URLs of Redis Cluster seed nodes, instead of REDIS_URL',
  },
  {
    name: 'REDIS_SENTINEL_NODES',
    path: ['cache', 'redis', 'sentinel', 'nodes'],
    kind: 'list',
    description: 'comma-separated redis:// URLs of Redis Sentinels, instead of REDIS_URL',
  },
  {
    name: 'REDIS_SENTINEL_NAME',
    path: ['cache', 'redis', 'sentinel', 'name'],
    kind: 'string',
    description: 'the master name the Sentinels monitor',
  },
  {
    name: 'DATABASE_REPLICA_URLS',
    path: ['replicas'],
    kind: 'list',
    description: 'comma-separated URLs of streaming replicas that serve reads outside transactions',
  },
  {
    name: 'DATABASE_REPLICA_MAX_LAG_MS',
    path: ['database', 'replicaMaxLagMs'],
    kind: 'int',
    description: 'take a replica out of the read rotation while its replay lags more than this',
  },
  {
    name: 'DATABASE_PREPARED_STATEMENTS',
    path: ['database', 'preparedStatements'],
    kind: 'boolean',
    description:
      'false behind a transaction-mode pooler (PgBouncer, Supavisor): no named statements',
  },
  {
    name: 'STRATUM_DATA_DIR',
    path: ['database', 'dir'],
    kind: 'string',
    description: 'directory for the embedded PGlite database; unset means in memory',
  },
  {
    name: 'DATABASE_POOL_MAX',
    path: ['database', 'pool', 'max'],
    kind: 'int',
    description: 'most connections in the pool',
  },
  {
    name: 'DATABASE_POOL_MIN',
    path: ['database', 'pool', 'min'],
    kind: 'int',
    description: 'connections kept open when idle',
  },
  {
    name: 'DATABASE_IDLE_TIMEOUT_MS',
    path: ['database', 'pool', 'idleTimeoutMs'],
    kind: 'int',
    description: 'close a connection idle this long',
  },
  {
    name: 'DATABASE_CONNECT_TIMEOUT_MS',
    path: ['database', 'pool', 'connectionTimeoutMs'],
    kind: 'int',
    description: 'give up connecting after this long',
  },
  {
    name: 'DATABASE_STATEMENT_TIMEOUT_MS',
    path: ['database', 'pool', 'statementTimeoutMs'],
    kind: 'int',
    description: 'cancel statements running longer (0: no limit)',
  },
  {
    name: 'DATABASE_APPLICATION_NAME',
    path: ['database', 'pool', 'applicationName'],
    kind: 'string',
    description: 'application_name shown in pg_stat_activity',
  },
  {
    name: 'DATABASE_SLOW_QUERY_MS',
    path: ['database', 'slowQueryMs'],
    kind: 'int',
    description: 'queries at or over this many ms are counted as slow and logged (0: never)',
  },
  {
    name: 'DATABASE_START_WHEN_DOWN',
    path: ['database', 'startWhenDown'],
    kind: 'boolean',
    description: 'true: start while the database is unreachable and connect when it can',
  },
  {
    name: 'DATABASE_TLS',
    path: ['database', 'tls'],
    kind: 'boolean',
    description: 'connect with TLS, verifying the server certificate',
  },
  {
    name: 'DATABASE_TLS_CA_FILE',
    path: ['database', 'tls', 'ca'],
    kind: 'file',
    description: 'PEM file of the CA that signed the server certificate (turns TLS on)',
  },
  {
    name: 'DATABASE_TLS_SERVERNAME',
    path: ['database', 'tls', 'servername'],
    kind: 'string',
    description: "the name the database server's certificate must carry, if not the URL's host",
  },
  {
    name: 'DATABASE_TLS_REJECT_UNAUTHORIZED',
    path: ['database', 'tls', 'rejectUnauthorized'],
    kind: 'boolean',
    description: 'false turns certificate verification off (explicitly; the default is on)',
  },

  {
    name: 'REDIS_URL',
    path: ['redisUrl'],
    kind: 'string',
    description: 'Redis URL for the cache; unset means the in-process LRU',
  },
  {
    name: 'REDIS_TLS',
    path: ['cache', 'redis', 'tls'],
    kind: 'boolean',
    description: 'connect to Redis with TLS, verifying its certificate (a rediss:// URL does too)',
  },
  {
    name: 'REDIS_TLS_CA_FILE',
    path: ['cache', 'redis', 'tls', 'ca'],
    kind: 'file',
    description: 'PEM file of the CA that signed the Redis server certificate (turns TLS on)',
  },
  {
    name: 'REDIS_TLS_SERVERNAME',
    path: ['cache', 'redis', 'tls', 'servername'],
    kind: 'string',
    description: "the name the Redis server's certificate must carry, if not the URL's host",
  },
  {
    name: 'REDIS_TLS_REJECT_UNAUTHORIZED',
    path: ['cache', 'redis', 'tls', 'rejectUnauthorized'],
    kind: 'boolean',
    description: 'false turns Redis certificate verification off (explicitly; the default is on)',
  },
  {
    name: 'STRATUM_CACHE_PREFIX',
    path: ['cache', 'prefix'],
    kind: 'string',
    description: 'prefix of every cache key',
  },
  {
    name: 'STRATUM_FULL_TEXT_LANGUAGE',
    path: ['embeddings', 'fullTextLanguage'],
    kind: 'string',
    description: 'text search configuration of chat_vectors.content_tsv (hybrid search)',
  },
  {
    name: 'STRATUM_CACHE_L1',
    path: ['cache', 'l1', 'enabled'],
    kind: 'boolean',
    description: 'in-process L1 tier in front of Redis, invalidated through pub/sub',
  },
  {
    name: 'STRATUM_CACHE_L1_TTL_MS',
    path: ['cache', 'l1', 'ttlMs'],
    kind: 'int',
    description: 'lifetime of an L1 entry: the staleness bound should a message be lost',
  },
  {
    name: 'S3_BUCKET',
    path: ['s3', 'bucket'],
    kind: 'string',
    description: 'S3 bucket for blobs; unset means the filesystem (STRATUM_BLOB_DIR)',
  },
  {
    name: 'S3_REGION',
    path: ['s3', 'region'],
    kind: 'string',
    description:
      'S3 region (else the SDK reads AWS_REGION); credentials come from the AWS_* variables',
  },
  {
    name: 'S3_ENDPOINT',
    path: ['s3', 'endpoint'],
    kind: 'string',
    description: 'URL of an S3-compatible service (MinIO, R2, ...)',
  },
  {
    name: 'S3_FORCE_PATH_STYLE',
    path: ['s3', 'forcePathStyle'],
    kind: 'boolean',
    description: 'path-style URLs (endpoint/bucket/key), which MinIO and s3rver need',
  },
  {
    name: 'S3_CHECKSUMS',
    path: ['s3', 'checksums'],
    kind: 'string',
    description:
      'when_supported (SDK default) or when_required (for services that mishandle CRC32 uploads)',
  },
  {
    name: 'STRATUM_BLOB_DIR',
    path: ['blobs', 'dir'],
    kind: 'string',
    description: 'directory of the filesystem blob store',
  },
  {
    name: 'STRATUM_BLOB_PREFIX',
    path: ['blobs', 'prefix'],
    kind: 'string',
    description: 'prefix in front of every blob key',
  },
  {
    name: 'STRATUM_BACKUP_PREFIX',
    path: ['backups', 'prefix'],
    kind: 'string',
    description: 'blob key prefix of backups',
  },
  {
    name: 'STRATUM_BACKUP_KEEP',
    path: ['backups', 'keep'],
    kind: 'int',
    description: 'backups kept, newest first',
  },
  {
    name: 'STRATUM_BACKUP_MAX_AGE_DAYS',
    path: ['backups', 'maxAgeDays'],
    kind: 'int',
    description: 'backups older than this are deleted, except the newest',
  },
  {
    name: 'PG_BIN_DIR',
    path: ['backups', 'pgBinDir'],
    kind: 'string',
    description:
      'directory of pg_dump and pg_restore (default: /usr/lib/postgresql/<major>/bin, then PATH)',
  },
  {
    name: 'STRATUM_EMBEDDING_DIMENSIONS',
    path: ['embeddings', 'dimensions'],
    kind: 'int',
    description: 'dimension of chat_vectors.embedding',
  },
  {
    name: 'STRATUM_EMBEDDING_PARTITIONS',
    path: ['embeddings', 'partitions'],
    kind: 'int',
    description: 'hash partitions of chat_vectors by user_id, fixed when the table is created',
  },
]

function parseEnvValue(variable: EnvVariable, raw: string): unknown {
  switch (variable.kind) {
    case 'string':
      return raw
    case 'list':
      return raw
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean)
    case 'int': {
      if (!/^-?\d+$/.test(raw.trim()))
        throw new ConfigError(`${variable.name} must be a whole number`)
      return Number.parseInt(raw, 10)
    }
    case 'file': {
      try {
        return readFileSync(raw)
      } catch {
        throw new ConfigError(`${variable.name} names a file that cannot be read`)
      }
    }
    case 'boolean': {
      const v = raw.trim().toLowerCase()
      if (['1', 'true', 'yes', 'on'].includes(v)) return true
      if (['0', 'false', 'no', 'off'].includes(v)) return false
      throw new ConfigError(`${variable.name} must be true or false`)
    }
  }
}

/**
 * Reads options from environment variables (see {@link ENV_VARIABLES}); `overrides` win.
 * @internal
 */
export function optionsFromEnv(
  env: Record<string, string | undefined>,
  overrides: DataLayerOptions = {},
): DataLayerOptions {
  const options: Record<string, unknown> = {}
  for (const variable of ENV_VARIABLES) {
    const raw = env[variable.name]
    if (raw === undefined || raw === '') continue
    let target = options
    for (const key of variable.path.slice(0, -1)) {
      // `DATABASE_TLS=true` plus a nested TLS setting: the object form means TLS on.
      if (target[key] === true) target[key] = {}
      if (target[key] === false) {
        throw new ConfigError(
          `${variable.name} conflicts with ${key} turned off by another variable`,
        )
      }
      target[key] ??= {}
      target = target[key] as Record<string, unknown>
    }
    target[variable.path.at(-1)!] = parseEnvValue(variable, raw)
  }
  return deepMerge(options, overrides as Record<string, unknown>) as DataLayerOptions
}

function deepMerge(
  base: Record<string, unknown>,
  over: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base }
  for (const [key, value] of Object.entries(over)) {
    const existing = out[key]
    out[key] = isPlainObject(existing) && isPlainObject(value) ? deepMerge(existing, value) : value
  }
  return out
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype
  )
}
