import { type ConnectionOptions, checkServerIdentity, type PeerCertificate } from 'node:tls'

/** TLS settings as the options give them, for the database and for Redis alike. */
export interface TlsSettings {
  readonly ca?: string | Buffer | undefined
  readonly cert?: string | Buffer | undefined
  readonly key?: string | Buffer | undefined
  /** The name the server's certificate must carry, whatever host the URL names. */
  readonly servername?: string | undefined
  /** Default true: verification is off only when this is explicitly false. */
  readonly rejectUnauthorized?: boolean | undefined
}

/**
 * Node's TLS options for `settings`. A `servername` is checked by a `checkServerIdentity`
 * of its own, because drivers (pg, ioredis) replace the SNI name with the URL's host name
 * and would then check the certificate against that host instead.
 * @internal
 */
export function tlsConnectionOptions(settings: TlsSettings): ConnectionOptions {
  const { servername } = settings
  return {
    rejectUnauthorized: settings.rejectUnauthorized ?? true,
    ...(settings.ca ? { ca: settings.ca } : {}),
    ...(settings.cert ? { cert: settings.cert } : {}),
    ...(settings.key ? { key: settings.key } : {}),
    ...(servername
      ? {
          servername,
          checkServerIdentity: (_host: string, cert: PeerCertificate) =>
            checkServerIdentity(servername, cert),
        }
      : {}),
  }
}
