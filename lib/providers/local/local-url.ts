import { isIP } from 'node:net'

/**
 * Whether `url` points at this machine or the local network, judged from its host name alone (no DNS
 * lookup): loopback, private and link-local addresses, `localhost`, `*.localhost`, `*.local`,
 * `*.internal`, `*.lan`, and single-label names (a docker-compose service such as `http://ollama:11434`).
 * LOCAL_ONLY admits the OpenAI provider only for such a base URL.
 */
export function isLocalUrl (url: string | undefined): boolean {
  if (url === undefined) return false
  let host: string
  try {
    host = new URL(url).hostname.toLowerCase()
  } catch {
    return false
  }
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1)
  const version = isIP(host)
  if (version === 4) return isLocalIPv4(host)
  if (version === 6) return isLocalIPv6(host)
  if (host === '' || host.endsWith('.')) return false
  if (!host.includes('.')) return true
  return /\.(localhost|local|internal|lan|home\.arpa)$/.test(host)
}

function isLocalIPv4 (host: string): boolean {
  const [a = 0, b = 0] = host.split('.').map(Number)
  return a === 127 || a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254) || host === '0.0.0.0'
}

function isLocalIPv6 (host: string): boolean {
  if (host === '::1' || host === '::') return true
  // IPv4-mapped addresses: the URL parser writes [::ffff:127.0.0.1] as [::ffff:7f00:1].
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host)
  if (mapped !== null) {
    const high = parseInt(mapped[1] ?? '0', 16)
    const low = parseInt(mapped[2] ?? '0', 16)
    return isLocalIPv4(`${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`)
  }
  return /^f[cd][0-9a-f]{2}:/.test(host) || /^fe[89ab][0-9a-f]:/.test(host)
}
