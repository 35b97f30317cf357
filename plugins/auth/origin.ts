/**
 * Whether a WebSocket upgrade's Origin is allowed. `allowed` holds lower-case origins
 * (scheme://host[:port]). A request without Origin passes: browsers always send one on a WebSocket, and
 * other clients can send any value, so the check protects browsers' users from other sites' pages.
 */
export function originAllowed (origin: string | undefined, allowed: string[] | '*'): boolean {
  if (allowed === '*' || origin === undefined) return true
  return allowed.includes(origin.toLowerCase())
}
