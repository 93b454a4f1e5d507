const URL_CREDENTIALS = /([a-z][a-z0-9+.-]*:\/\/[^:/?#\s@]*):[^@/\s]*@/gi
const KEY_VALUE_SECRET =
  /\b(password|passwd|pwd|secret|token|sslkey|secretAccessKey)(\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s&;,]+)/gi

/**
 * Removes passwords from connection strings and `password=...` pairs in a text, so
 * messages and logs never carry them.
 * @internal
 */
export function redactSecrets(text: string): string {
  return text.replace(URL_CREDENTIALS, '$1:***@').replace(KEY_VALUE_SECRET, '$1$2***')
}
