/**
 * Removes things that look like credentials from a provider's error text: some providers echo part
 * of the key back ("Incorrect API key provided: sk-abc***wxyz"), and these messages reach logs and
 * clients. Masks `sk-…`-style keys, auth scheme values, `key=value` secrets and long opaque tokens.
 */
const PREFIXED_KEY = /\b(?:sk|pk|rk|dg|key|tok)[-_][A-Za-z0-9_*.-]{4,}[A-Za-z0-9_*]/gi
const AUTH_SCHEME = /\b(Bearer|Token|Basic)\s+[^\s,;"']+/gi
const ASSIGNMENT = /\b(api[_-]?key|token|secret|password)(\s*[:=]\s*)[^\s,;"']+/gi
const OPAQUE = /\b[A-Za-z0-9_-]{32,}\b/g

export function scrubSecrets (text: string): string {
  return text
    .replace(PREFIXED_KEY, '[redacted]')
    .replace(AUTH_SCHEME, '$1 [redacted]')
    .replace(ASSIGNMENT, '$1$2[redacted]')
    .replace(OPAQUE, '[redacted]')
}
