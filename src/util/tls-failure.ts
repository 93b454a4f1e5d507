/** Why a TLS connection was refused, in terms a person can act on. */
export interface TlsFailure {
  /** Stable: `untrusted-certificate`, `hostname-mismatch`, `certificate-expired`, `tls-required` or `tls-unsupported`. */
  readonly reason: string
  /** What to change, naming the option (`what` is `database` or `cache.redis`). */
  readonly fix: string
  /** Node's or the server's code for it, when there is one. */
  readonly errno?: string
}

const UNTRUSTED = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
])
const EXPIRED = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID'])

/**
 * The TLS problem inside `error` (its cause chain included), or undefined when it is not
 * one. `option` is where the CA and the other TLS settings go (`database.tls`,
 * `cache.redis.tls`).
 * @internal
 */
export function tlsFailureOf(error: unknown, option: string): TlsFailure | undefined {
  let current: unknown = error
  for (let depth = 0; depth < 6 && current; depth++) {
    const code = (current as { code?: unknown }).code
    const message = current instanceof Error ? current.message : ''
    if (typeof code === 'string' && UNTRUSTED.has(code))
      return {
        reason: 'untrusted-certificate',
        errno: code,
        fix: `the server's certificate is not signed by a CA this client trusts: give the CA that signed it (${option}.ca)`,
      }
    if (code === 'ERR_TLS_CERT_ALTNAME_INVALID')
      return {
        reason: 'hostname-mismatch',
        errno: code,
        fix: `the server's certificate is not for the host name connected to: connect with a name the certificate lists, or set ${option}.servername to the name it carries`,
      }
    if (typeof code === 'string' && EXPIRED.has(code))
      return {
        reason: 'certificate-expired',
        errno: code,
        fix: "the server's certificate has expired or is not yet valid: renew it on the server",
      }
    if (/pg_hba\.conf.*no encryption/i.test(message))
      return {
        reason: 'tls-required',
        errno: typeof code === 'string' ? code : undefined,
        fix: `the server accepts TLS connections only: add sslmode=verify-full to the URL or set ${option}.tls`,
      } as TlsFailure
    if (/server does not support SSL/i.test(message))
      return {
        reason: 'tls-unsupported',
        fix: `the server does not speak TLS: use a server that does, or turn TLS off explicitly (${option}.tls: false)`,
      }
    current = (current as { cause?: unknown }).cause
  }
  return undefined
}
