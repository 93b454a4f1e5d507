// Both patterns start only at a literal ("//" or a secret's name), so neither backtracks
// over long runs of ordinary characters: a message with a 1 MB field name is scanned in
// linear time (an earlier pattern that began with the URL scheme took seconds on it).
const URL_CREDENTIALS = /\/\/([^:/?#\s@]*):[^@/\s]*@/g
const KEY_VALUE_SECRET =
  /\b(password|passwd|pwd|secret|token|sslkey|secretAccessKey)(\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s&;,]+)/gi

/**
 * Removes passwords from connection strings and `password=...` pairs in a text, so
 * messages and logs never carry them.
 * @internal
 */
export function redactSecrets(text: string): string {
  return text.replace(URL_CREDENTIALS, '//$1:***@').replace(KEY_VALUE_SECRET, '$1$2***')
}
